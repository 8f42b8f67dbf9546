import Testing
import TurnpikeModel
import TurnpikeYAML

@Suite struct NodeBuilderTests {
    @Test func mappingsAndSequencesWithLocations() throws {
        let node = try parse(
            """
            name: svc
            ports:
              - 80
              - 443
            nested: {a: 1, b: [x, y]}
            """
        )
        #expect(node.location == SourceLocation(file: "t.yaml", line: 1, column: 1))
        #expect(node.mapping?.map(\.name) == ["name", "ports", "nested"])
        #expect(node["name"]?.string == "svc")
        #expect(node["name"]?.location.column == 7)
        let ports = try #require(node["ports"]?.sequence)
        #expect(ports.map(\.integer) == [80, 443])
        #expect(ports[1].location == SourceLocation(file: "t.yaml", line: 4, column: 5))
        #expect(node["nested"]?["b"]?.sequence?.map(\.string) == ["x", "y"])
        #expect(node["nested"]?["b"]?.location == SourceLocation(file: "t.yaml", line: 5, column: 19))
        let keyLocation = node.mapping?[2].key.location
        #expect(keyLocation == SourceLocation(file: "t.yaml", line: 5, column: 1))
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let node = try parse("é: ü\n")
        #expect(node["é"]?.location.column == 4)
        let withBOM = try YAMLFrontEnd.parse([0xEF, 0xBB, 0xBF] + Array("a: 1".utf8), file: "t.yaml")
        #expect(withBOM["a"]?.location.column == 4)
        #expect(withBOM["a"]?.integer == 1)
    }

    @Test func emptyValueIsNull() throws {
        let node = try parse("a:\nb: ~\n")
        #expect(node["a"]?.isNull == true)
        #expect(node["b"]?.isNull == true)
    }

    @Test(arguments: ["", "# only a comment\n", "\n\n  \n", "# one\n# two"])
    func noDocumentIsNullAtStart(_ text: String) throws {
        let node = try parse(text)
        #expect(node.isNull)
        #expect(node.location == SourceLocation(file: "t.yaml", line: 1, column: 1))
    }

    @Test func explicitEmptyDocumentIsNull() throws {
        #expect(try parse("---\n").isNull)
        #expect(try parse("--- 5\n...\n").integer == 5)
    }

    @Test func fileNameIsInEveryLocation() throws {
        let node = try YAMLFrontEnd.parse(Array("a: [1]".utf8), file: "/etc/kong/kong.yml")
        #expect(node["a"]?.sequence?.first?.location.file == "/etc/kong/kong.yml")
    }

    // MARK: Anchors, aliases, merges

    @Test func aliasKeepsAnchoredLocation() throws {
        let node = try parse(
            """
            base: &b
              x: 1
            copy: *b
            scalar: &s hi
            again: *s
            """
        )
        #expect(node["copy"]?["x"]?.integer == 1)
        #expect(node["copy"]?.location == node["base"]?.location)
        #expect(node["copy"]?["x"]?.location.line == 2)
        #expect(node["again"]?.string == "hi")
        #expect(node["again"]?.location == SourceLocation(file: "t.yaml", line: 4, column: 9))
    }

    @Test func anchorsCanBeRedefined() throws {
        let node = try parse("a: &x 1\nb: *x\nc: &x 2\nd: *x\n")
        #expect(node["b"]?.integer == 1)
        #expect(node["d"]?.integer == 2)
    }

    @Test func unknownAndRecursiveAliasesAreErrors() {
        #expect(errors("a: *nope\n") == ["1:4: unknown anchor 'nope' (an anchor must be defined before its alias)"])
        #expect(errors("a: &r [1, *r]\n") == ["1:11: alias '*r' refers to a node that contains it"])
    }

    @Test func mergeKeyExplicitKeysWinRegardlessOfOrder() throws {
        let node = try parse(
            """
            defaults: &d {host: a, port: 80, retries: 5}
            svc:
              host: explicit
              <<: *d
              port: 8080
            """
        )
        let svc = try #require(node["svc"])
        #expect(svc["host"]?.string == "explicit")
        #expect(svc["port"]?.integer == 8080)
        #expect(svc["retries"]?.integer == 5)
        #expect(svc.mapping?.map(\.name) == ["host", "retries", "port"])
        #expect(svc["retries"]?.location.line == 1)
    }

    @Test func mergeSequenceEarlierWins() throws {
        let node = try parse(
            """
            a: &a {k: 1, only_a: x}
            b: &b {k: 2, only_b: y}
            c:
              <<: [*a, *b]
              own: z
            """
        )
        let c = try #require(node["c"])
        #expect(c["k"]?.integer == 1)
        #expect(c["only_a"]?.string == "x")
        #expect(c["only_b"]?.string == "y")
        #expect(c["own"]?.string == "z")
        #expect(c.mapping?.count == 4)
    }

    @Test func mergeOfInlineMappingAndQuotedKey() throws {
        let node = try parse("m:\n  '<<': {a: 1}\n  b: 2\n")
        #expect(node["m"]?["a"]?.integer == 1)
        #expect(node["m"]?["<<"] == nil)
    }

    @Test(arguments: ["<<: 1", "<<: [1, 2]", "<<: [{a: 1}, 2]", "<<: ~", "<<: [[{a: 1}]]"])
    func mergeOfWrongKindIsError(_ text: String) {
        #expect(errors("m:\n  " + text + "\n") == ["2:3: merge key value must be a mapping or a sequence of mappings"])
    }

    @Test func mergedKeysAreNeverDuplicates() throws {
        let node = try parse("a: &a {x: 1}\nb:\n  <<: *a\n  <<: {x: 2, y: 3}\n  x: 4\n")
        #expect(node["b"]?["x"]?.integer == 4)
        #expect(node["b"]?["y"]?.integer == 3)
    }

    // MARK: Keys

    @Test func duplicateKeysReportSecondAndKeepFirst() {
        #expect(errors("a: 1\nb: 2\na: 3\n") == ["3:1: duplicate key 'a'"])
        #expect(errors("1: x\n'1': y\n") == ["2:1: duplicate key '1'"])
        #expect(errors("1: x\n1.0: y\n") == ["2:1: duplicate key '1'"])
        #expect(errors("{true: 1, \"true\": 2}") == ["1:11: duplicate key 'true'"])
        let long = String(repeating: "k", count: 70)
        let expected = "2:1: duplicate key '\(String(repeating: "k", count: 64))…'"
        #expect(errors("\(long): 1\n\(long): 2\n") == [expected])
    }

    @Test func aliasedKeysReportAtTheAlias() {
        #expect(errors("&k a: 1\nb: 2\n*k : 3\n") == ["3:1: duplicate key 'a'"])
        #expect(errors("x: &l [1]\ny: {*l : 2}\n") == ["2:5: mapping keys must be scalars"])
    }

    @Test func duplicateDetectionInLargeMappings() {
        var text = ""
        for index in 0..<50 { text += "key\(index): \(index)\n" }
        text += "key7: again\nkey42: again\n"
        #expect(errors(text) == ["51:1: duplicate key 'key7'", "52:1: duplicate key 'key42'"])
    }

    @Test func firstValueIsKept() throws {
        do {
            _ = try parse("a: 1\na: 2\n")
            Issue.record("expected an error")
        } catch {
            #expect(error.count == 1)
        }
    }

    @Test func collectionAndNullKeysAreErrors() {
        #expect(errors("? [a, b]\n: x\n") == ["1:3: mapping keys must be scalars"])
        #expect(errors("{a: 1}: x\n") == ["1:1: mapping keys must be scalars"])
        #expect(errors("~: x\n") == ["1:1: mapping keys must be scalars"])
        #expect(errors("?\n: x\n").first?.hasSuffix(": mapping keys must be scalars") == true)
    }

    // MARK: Tags on collections

    @Test func collectionTags() throws {
        #expect(try parse("!!map {a: 1}")["a"]?.integer == 1)
        #expect(try parse("!!seq [1]").sequence?.count == 1)
        #expect(errors("!!set {a: ~}") == ["1:1: unsupported YAML tag '!!set'"])
        #expect(errors("!!seq {a: 1}") == ["1:1: YAML tag '!!seq' cannot be used on a mapping"])
        #expect(errors("!!str [1]") == ["1:1: YAML tag '!!str' cannot be used on a sequence"])
        #expect(errors("a: !custom {b: 1}") == ["1:4: unsupported YAML tag '!custom'"])
    }

    // MARK: Documents and syntax errors

    @Test func secondDocumentIsError() {
        let message = "a second YAML document is not supported (turnpike reads exactly one)"
        #expect(errors("a: 1\n---\nb: 2\n") == ["2:1: " + message])
        #expect(errors("--- 1\n--- 2\n") == ["2:1: " + message])
        #expect(errors("a: 1\n...\n---\nb: 2\n") == ["3:1: " + message])
    }

    @Test func syntaxErrorsUseProblemMark() {
        #expect(errors("a: b: c\n") == ["1:5: mapping values are not allowed in this context"])
        #expect(errors("a:\n  b: 1\n c: 2\n") == ["3:2: did not find expected key while parsing a block mapping"])
        #expect(errors("a: [1, 2\n") == ["2:1: did not find expected ',' or ']' while parsing a flow sequence"])
        #expect(errors("a: 'open\n") == ["2:1: found unexpected end of stream while scanning a quoted scalar"])
    }

    @Test func errorsBeforeSyntaxErrorAreKeptInFileOrder() {
        let text = "a: 1\na: 2\nb: 99999999999999999999\nc: [\n"
        #expect(
            errors(text) == [
                "2:1: duplicate key 'a'",
                "3:4: integer out of range",
                "5:1: did not find expected node content while parsing a flow node",
            ]
        )
    }

    // MARK: JSON

    @Test func jsonDocument() throws {
        let json = """
            {"services": [{"name": "a\\/b", "port": 8080, "ratio": 0.5, "on": true, "off": false,
            "none": null, "text": "caf\\u00e9 \\"q\\" \\n", "neg": -12, "exp": 1e3,
            "nested": {"list": [[1, 2], {}, []]}}]}
            """
        let node = try parse(json)
        let service = try #require(node["services"]?.sequence?.first)
        #expect(service["name"]?.string == "a/b")
        #expect(service["port"]?.integer == 8080)
        #expect(service["ratio"]?.number == 0.5)
        #expect(service["on"]?.bool == true)
        #expect(service["off"]?.bool == false)
        #expect(service["none"]?.isNull == true)
        #expect(service["text"]?.string == "café \"q\" \n")
        #expect(service["neg"]?.integer == -12)
        #expect(service["exp"]?.number == 1000)
        #expect(service["nested"]?["list"]?.sequence?.count == 3)
        #expect(service["nested"]?["list"]?.sequence?.first?.sequence?.map(\.integer) == [1, 2])
    }

    @Test func jsonWithTabsInsideFlowCollections() throws {
        let node = try parse("{\t\"a\":\t1,\n\t\"b\":\t[1,\t2]\t}\t\n")
        #expect(node["a"]?.integer == 1)
        #expect(node["b"]?.sequence?.count == 2)
        #expect(try parse("{\"a\":1,\"b\":[true,null]}")["b"]?.sequence?.count == 2)
    }

    /// libyaml rejects a tab that indents the top-level value (block context), which JSON allows.
    @Test func jsonTabBeforeTopLevelValueIsRejectedByLibyaml() {
        #expect(
            errors("\t{\"a\": 1}\n") == [
                "1:1: found character that cannot start any token while scanning for the next token"
            ]
        )
    }

    // MARK: Limits

    @Test func maxBytes() {
        let limits = YAMLLimits(maxBytes: 10)
        #expect(throws: Never.self) { try YAMLFrontEnd.parse(Array("a: 1234567".utf8), file: "t.yaml", limits: limits) }
        #expect(
            errors("a: 12345678", limits: limits) == [
                "1:1: file is larger than 10 bytes (raise it with --max-config-size)"
            ]
        )
    }

    @Test func depthLimitBoundary() throws {
        let limits = YAMLLimits(maxDepth: 5)
        #expect(try parse("[[[[[1]]]]]", limits: limits).sequence?.count == 1)
        #expect(errors("[[[[[[1]]]]]]", limits: limits) == ["1:6: nesting deeper than 5 levels"])
        #expect(errors("a:\n b:\n  c:\n   d:\n    e: [1]\n", limits: limits) == ["5:8: nesting deeper than 5 levels"])
    }

    @Test func depthLimitCountsAliasedDepth() {
        let limits = YAMLLimits(maxDepth: 4)
        #expect(errors("a: &a [[1]]\nb: [[*a]]\n", limits: limits) == ["2:6: nesting deeper than 4 levels"])
        #expect(errors("a: &a [[1]]\nb: [*a]\n", limits: limits).isEmpty)
    }

    @Test func aliasNodeLimitCountsSubtrees() throws {
        let text = "a: &a [1, 2, 3]\nb: [*a, *a]\n"  // each alias adds 4 nodes
        #expect(try parse(text, limits: YAMLLimits(maxAliasNodes: 8))["b"]?.sequence?.count == 2)
        #expect(
            errors(text, limits: YAMLLimits(maxAliasNodes: 7)) == [
                "2:9: too many alias expansions (limit 7 nodes)"
            ]
        )
        let merge = "a: &a {x: 1}\nb: {<<: *a}\n"  // 3 nodes: the mapping, key and value
        #expect(
            errors(merge, limits: YAMLLimits(maxAliasNodes: 2)) == [
                "2:9: too many alias expansions (limit 2 nodes)"
            ]
        )
    }

    // MARK: Size

    @Test func largeDocument() throws {
        var text = "_format_version: \"3.0\"\nconsumers:\n"
        let consumers = 32_000
        for index in 0..<consumers {
            text += """
                - username: consumer-\(index)
                  custom_id: "id-\(index)"
                  tags: [bulk, generated]
                  keyauth_credentials:
                    - key: 3c5d4e7f8a9b0c1d2e3f4a5b6c7d8e9f-\(index)
                      ttl: \(index % 1000)

                """
        }
        #expect(text.utf8.count > 5_000_000)
        let node = try parse(text)
        // Per consumer: mapping 1 + 4 keys + username + custom_id + tags (3) + credential list (1)
        // + credential mapping (1 + 2 keys + 2 values) = 16 nodes.
        #expect(countNodes(node) == 1 + 4 + consumers * 16)
        #expect(node["consumers"]?.sequence?.last?["keyauth_credentials"]?.sequence?.first?["ttl"]?.integer == 999)
    }
}

// MARK: - Helpers shared by the suites

func parse(_ text: String, limits: YAMLLimits = YAMLLimits()) throws(ConfigErrors) -> ConfigNode {
    try YAMLFrontEnd.parse(Array(text.utf8), file: "t.yaml", limits: limits)
}

/// `line:column: message` of every error, in file order; empty when the text parses.
func errors(_ bytes: [UInt8], limits: YAMLLimits = YAMLLimits()) -> [String] {
    do {
        _ = try YAMLFrontEnd.parse(bytes, file: "t.yaml", limits: limits)
        return []
    } catch {
        return error.sorted.map { "\($0.location.line):\($0.location.column): \($0.message)" }
    }
}

func errors(_ text: String, limits: YAMLLimits = YAMLLimits()) -> [String] {
    errors(Array(text.utf8), limits: limits)
}

/// Every node of the tree, keys included, walked without recursion.
func countNodes(_ root: ConfigNode) -> Int {
    var pending = [root]
    var count = 0
    while let node = pending.popLast() {
        count += 1
        switch node.value {
        case .sequence(let items): pending.append(contentsOf: items)
        case .mapping(let entries):
            for entry in entries {
                pending.append(entry.key)
                pending.append(entry.value)
            }
        default: break
        }
    }
    return count
}
