import Testing
import TurnpikeModel
import TurnpikeYAML

@Suite struct YAMLEmitterTests {
    /// One round-trip input, named for the test report.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var value: Rendered
        var testDescription: String { self.name }
    }

    /// Strings whose plain spelling YAML 1.1 (lyaml) would type as something else, or that plain YAML syntax
    /// cannot hold, plus ordinary ones that should stay plain.
    static let trickyStrings: [String] = [
        "3.0", "yes", "Yes", "on", "OFF", "no", "true", "False", "y", "n", "null", "Null", "~", "", "010", "08",
        "0o10", "0", "-1", "+1", "_1", "1_000", "1e5", "1.", ".5", "1:30", "1:30.5", "1:30.", "0x1F", "0x1e", "0X1F",
        "0b10", "0b1", "07_", "0b10_", "1e400", "99999999999999999999", ".inf", "-.inf", "+.INF", ".nan", ".NaN",
        "NaN", "+.nan", "a: b", "a:b", "- x", "-", "--", "---", "...", "#c", "a #b", "a# b", ":", "? q", "?",
        "*alias", "&anchor", "!tag", "!!str", "%percent", "@at", "`tick", "[x]", "{y}", ",", "|", ">", "\"q\"",
        "'s'", "it's", "back\\slash", "multi\nline", "trail\n", "\n", "\n\n", "a\n\nb", " lead", "trail ", " ",
        "tab\there", "\t", "\r\n", "crlf\r\nline", "http://example.com:8000/p?q=1#frag", "~/path", "/status/{id}",
        "é", "héllo ✓", "日本語", "🎉 party", "\u{0}", "\u{7}", "\u{85}", "\u{A0}", "\u{2028}", "\u{FEFF}bom",
        "example_service", "hello world",
        String(repeating: "long words ", count: 1_000),
        String(repeating: "x", count: 10_000),
        String(repeating: "line\n", count: 50),
    ]

    static let numbers: [Rendered] = [
        .integer(0), .integer(-1), .integer(1), .integer(80), .integer(Int.max), .integer(Int.min),
        .number(0), .number(-0.0), .number(1), .number(1.5), .number(-1.5), .number(0.1), .number(1e300),
        .number(-1e-300), .number(1e16), .number(123_456_789), .number(Double.leastNonzeroMagnitude),
        .number(Double.greatestFiniteMagnitude), .number(Double.infinity), .number(-Double.infinity),
        .number(Double.nan),
    ]

    static let cases: [Case] = {
        var cases: [Case] = [
            Case(name: "null", value: .null),
            Case(name: "true", value: .bool(true)),
            Case(name: "false", value: .bool(false)),
            Case(name: "empty array", value: .array([])),
            Case(name: "empty object", value: .object([])),
            Case(name: "numbers", value: .array(Self.numbers)),
            Case(name: "strings in a sequence", value: .array(Self.trickyStrings.map(Rendered.string))),
            Case(
                name: "strings as keys and values",
                value: .object(Self.trickyStrings.enumerated().map { ($1, .string(Self.trickyStrings.reversed()[$0])) })
            ),
            Case(
                name: "scalars as mapping values",
                value: .object([
                    ("n", .null), ("t", .bool(true)), ("f", .bool(false)), ("i", .integer(-7)), ("d", .number(2.5)),
                    ("inf", .number(.infinity)), ("e", .string("")), ("a", .array([])), ("o", .object([])),
                ])
            ),
            Case(
                name: "key order kept",
                value: .object([("z", .integer(1)), ("a", .integer(2)), ("m", .integer(3)), ("b", .integer(4))])
            ),
            Case(
                name: "nested collections",
                value: .array([
                    .array([.integer(1), .array([.integer(2), .array([])])]),
                    .object([("a", .array([.object([("b", .object([("c", .array([.null, .string("3.0")]))]))])]))]),
                    .array([.object([]), .array([]), .object([("", .string(""))])]),
                ])
            ),
            // Only as values: the front end compares keys as Swift strings, so "e\u{301}" would duplicate "é".
            Case(name: "decomposed accent", value: .array([.string("e\u{301}"), .string("é")])),
            Case(name: "deep nesting", value: Self.deep(30)),
            Case(name: "kong document", value: Self.kongDocument),
        ]
        for string in Self.trickyStrings.prefix(40) {
            cases.append(Case(name: "root string \(string.debugDescription)", value: .string(string)))
        }
        for number in Self.numbers {
            cases.append(Case(name: "root \(number)", value: number))
        }
        return cases
    }()

    static func deep(_ levels: Int) -> Rendered {
        var value: Rendered = .string("bottom")
        for level in 0..<levels {
            value = level.isMultiple(of: 2) ? .array([value, .integer(level)]) : .object([("l\(level)", value)])
        }
        return value
    }

    static let kongDocument: Rendered = .object([
        ("_format_version", .string("3.0")),
        ("_transform", .bool(true)),
        (
            "services",
            .array([
                .object([
                    ("name", .string("example_service")),
                    ("url", .string("http://mockbin.org:80/request")),
                    ("port", .integer(80)),
                    ("retries", .integer(5)),
                    ("connect_timeout", .integer(60000)),
                    ("tags", .array([.string("demo"), .string("yes")])),
                    (
                        "routes",
                        .array([
                            .object([
                                ("name", .string("example_route")),
                                ("paths", .array([.string("~/mock$"), .string("/status/{id}")])),
                                ("methods", .array([.string("GET"), .string("POST")])),
                                ("strip_path", .bool(false)),
                                ("hosts", .array([])),
                            ])
                        ])
                    ),
                    ("ca_certificates", .null),
                ])
            ])
        ),
        (
            "plugins",
            .array([
                .object([
                    ("name", .string("rate-limiting")),
                    (
                        "config",
                        .object([("minute", .integer(5)), ("fault_tolerant", .bool(true)), ("ratio", .number(0.5))])
                    ),
                    ("protocols", .array([.string("http"), .string("https")])),
                ])
            ])
        ),
        ("consumers", .array([])),
        ("upstreams", .object([])),
    ])

    @Test(arguments: Self.cases)
    func roundTrips(_ testCase: Case) throws {
        let text = YAMLEmitter.emit(testCase.value)
        #expect(text.hasSuffix("\n"))
        if testCase.value != .array([]), testCase.value != .object([]) {
            // Collections are block style, so this is not the JSON fallback.
            #expect(!text.hasPrefix("[") && !text.hasPrefix("{"))
        }
        let node = try YAMLFrontEnd.parse(Array(text.utf8), file: "t")
        let mismatch = Self.difference(node, testCase.value, path: "$")
        #expect(mismatch == nil, "\(mismatch ?? "") in:\n\(text)")
    }

    @Test func kongDocumentExactOutput() {
        let value: Rendered = .object([
            ("_format_version", .string("3.0")),
            (
                "services",
                .array([
                    .object([
                        ("name", .string("example_service")),
                        ("port", .integer(80)),
                        ("weight", .number(1)),
                        ("enabled", .bool(true)),
                        ("client_certificate", .null),
                        ("tags", .array([.string("on"), .string("plain tag"), .string("")])),
                        ("routes", .array([.object([("paths", .array([.string("/a: b")])), ("hosts", .array([]))])])),
                        (
                            "config",
                            .object([("nested", .array([.array([.integer(1), .integer(2)])])), ("empty", .object([]))])
                        ),
                    ])
                ])
            ),
        ])
        let expected = """
            _format_version: "3.0"
            services:
            - name: example_service
              port: 80
              weight: 1.0
              enabled: true
              client_certificate: null
              tags:
              - "on"
              - plain tag
              - ""
              routes:
              - paths:
                - '/a: b'
                hosts: []
              config:
                nested:
                - - 1
                  - 2
                empty: {}

            """
        #expect(YAMLEmitter.emit(value) == expected)
    }

    @Test func scalarSpellings() {
        #expect(YAMLEmitter.emit(.string("yes")) == "\"yes\"\n")
        #expect(YAMLEmitter.emit(.string("010")) == "\"010\"\n")
        #expect(YAMLEmitter.emit(.string("~")) == "\"~\"\n")
        #expect(YAMLEmitter.emit(.string("hello")) == "hello\n")
        #expect(YAMLEmitter.emit(.string("héllo ✓")) == "héllo ✓\n")
        #expect(YAMLEmitter.emit(.string("#c")) == "'#c'\n")
        #expect(YAMLEmitter.emit(.number(1)) == "1.0\n")
        #expect(YAMLEmitter.emit(.number(1e300)) == "1e+300\n")
        #expect(YAMLEmitter.emit(.number(-.infinity)) == "-.inf\n")
        #expect(YAMLEmitter.emit(.number(.nan)) == ".nan\n")
        #expect(YAMLEmitter.emit(.integer(-42)) == "-42\n")
        #expect(YAMLEmitter.emit(.bool(false)) == "false\n")
        #expect(YAMLEmitter.emit(.null) == "null\n")
        #expect(YAMLEmitter.emit(.object([("3.0", .string("x"))])) == "\"3.0\": x\n")
        let long = String(repeating: "word ", count: 100) + "end"
        #expect(YAMLEmitter.emit(.object([("k", .string(long))])) == "k: \(long)\n")
    }

    // MARK: - Comparison

    /// The first place where the parsed tree differs from the emitted value, or nil when they match.
    static func difference(_ node: ConfigNode, _ value: Rendered, path: String) -> String? {
        switch (node.value, value) {
        case (.null, .null):
            return nil
        case (.bool(let parsed), .bool(let expected)):
            return parsed == expected ? nil : "\(path): \(parsed) != \(expected)"
        case (.integer(let parsed), .integer(let expected)):
            return parsed == Int64(expected) ? nil : "\(path): \(parsed) != \(expected)"
        case (.float(let parsed), .number(let expected)):
            let same = parsed.isNaN ? expected.isNaN : parsed == expected && parsed.sign == expected.sign
            return same ? nil : "\(path): \(parsed) != \(expected)"
        case (.string(let parsed), .string(let expected)):
            // Byte comparison: String's == would accept a canonically equivalent but differently encoded text.
            return parsed.utf8.elementsEqual(expected.utf8)
                ? nil : "\(path): \(parsed.debugDescription) != \(expected.debugDescription)"
        case (.sequence(let parsed), .array(let expected)):
            guard parsed.count == expected.count else {
                return "\(path): \(parsed.count) items != \(expected.count)"
            }
            for (index, (item, want)) in zip(parsed, expected).enumerated() {
                if let mismatch = Self.difference(item, want, path: "\(path)[\(index)]") { return mismatch }
            }
            return nil
        case (.mapping(let parsed), .object(let expected)):
            guard parsed.count == expected.count else {
                return "\(path): \(parsed.count) entries != \(expected.count)"
            }
            for (entry, (key, want)) in zip(parsed, expected) {
                guard case .string(let parsedKey) = entry.key.value, parsedKey.utf8.elementsEqual(key.utf8) else {
                    return "\(path): key \(entry.key.value) != \(key.debugDescription)"
                }
                if let mismatch = Self.difference(entry.value, want, path: "\(path).\(key.debugDescription)") {
                    return mismatch
                }
            }
            return nil
        default:
            return "\(path): parsed \(node.value) but emitted \(value)"
        }
    }
}
