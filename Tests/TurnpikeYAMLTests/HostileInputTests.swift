import Testing
import TurnpikeModel
import TurnpikeYAML

/// Inputs meant to crash, hang or exhaust the front end. They must all end in a value or in errors.
@Suite struct HostileInputTests {
    @Test func billionLaughsIsRejected() {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            let previous = "*a\(level - 1)"
            let list = Array(repeating: previous, count: 10).joined(separator: ", ")
            text += "a\(level): &a\(level) [\(list)]\n"
        }
        let found = errors(text)
        #expect(found.count == 1)
        #expect(found.first?.hasSuffix("too many alias expansions (limit 1000000 nodes)") == true)
    }

    @Test func mergeBombIsRejected() {
        var text = "m0: &m0 {k0: 1}\n"
        for level in 1...30 {
            text += "m\(level): &m\(level) {<<: [*m\(level - 1), *m\(level - 1)], k\(level): 1}\n"
        }
        #expect(errors(text).first?.hasSuffix("too many alias expansions (limit 1000000 nodes)") == true)
    }

    @Test func deepFlowNestingIsRejected() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(errors(text) == ["1:65: nesting deeper than 64 levels"])
        let mappings = String(repeating: "{a: ", count: 10_000)
        #expect(errors(mappings).first?.hasSuffix("nesting deeper than 64 levels") == true)
        #expect(errors(String(repeating: "[", count: 10_000)) == ["1:65: nesting deeper than 64 levels"])
    }

    @Test func deepBlockSequenceIsRejected() {
        let text = String(repeating: "- ", count: 100_000) + "x\n"
        #expect(errors(text) == ["1:129: nesting deeper than 64 levels"])
    }

    @Test func deepBlockMappingIsRejected() {
        var text = ""
        for level in 0..<200 { text += String(repeating: " ", count: level) + "k:\n" }
        #expect(errors(text) == ["65:65: nesting deeper than 64 levels"])
    }

    @Test(arguments: [
        "a: 'unterminated", "a: \"unterminated", "a: \"esc \\", "[1, 2", "{a: 1", "'", "\"",
        "a: |\n  x\n b", "&", "*", "!", "? ", "- [", "a: \"\\uZZZZ\"", "a: \"\\xZZ\"", "%YAML 1.1\n%YAML 1.1\n---\n",
    ])
    func malformedInputGivesOneError(_ text: String) {
        #expect(errors(text).count == 1, "\(text.debugDescription): \(errors(text))")
    }

    @Test func randomGarbageNeverCrashes() {
        var generator = SplitMix64(seed: 0x5EED_CAFE)
        let alphabet = Array("abc:-[]{},&*!|>'\"#%@`?~ \t\n\r\\0123456789._".utf8)
        for round in 0..<2_000 {
            let length = Int(generator.next() % 400)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(length)
            for _ in 0..<length {
                let roll = generator.next()
                // Mostly YAML punctuation so the parser gets deep; sometimes any byte at all.
                bytes.append(
                    round % 4 == 0 || roll % 7 == 0
                        ? UInt8(truncatingIfNeeded: roll >> 8)
                        : alphabet[Int((roll >> 8) % UInt64(alphabet.count))]
                )
            }
            _ = errors(bytes)
        }
    }

    @Test func invalidUTF8IsReportedAtItsCharacterPosition() {
        let bytes = Array("a: 1\nbé: x".utf8) + [0xFF] + Array("y\n".utf8)
        #expect(errors(bytes) == ["2:6: invalid UTF-8: invalid leading UTF-8 octet"])
        let withBOM = [0xEF, 0xBB, 0xBF] + Array("k: ".utf8) + [0xC3, 0x28]
        #expect(errors(withBOM) == ["1:4: invalid UTF-8: invalid trailing UTF-8 octet"])
        let truncated = Array("k: ".utf8) + [0xE2, 0x82]
        #expect(errors(truncated) == ["1:4: invalid UTF-8: incomplete UTF-8 octet sequence"])
        let crlf = Array("a: 1\r\nb: 2\r\nc: ".utf8) + [0x80]
        #expect(errors(crlf) == ["3:4: invalid UTF-8: invalid leading UTF-8 octet"])
        let surrogate = Array("k: ".utf8) + [0xED, 0xA0, 0x80]
        #expect(errors(surrogate) == ["1:4: invalid UTF-8: invalid Unicode character"])
    }

    @Test func nulAndControlCharactersAreRejected() throws {
        #expect(errors(Array("a: b".utf8) + [0] + Array("c\n".utf8)) == ["1:5: control characters are not allowed"])
        #expect(errors(Array("a: 1\nb: ".utf8) + [0x07]) == ["2:4: control characters are not allowed"])
        // An escaped NUL inside double quotes is data, kept by length.
        #expect(try parse("a: \"x\\0y\"")["a"]?.string?.utf8.count == 3)
    }

    @Test func hugeNumbers() {
        #expect(errors("port: " + String(repeating: "9", count: 5_000)) == ["1:7: integer out of range"])
        #expect(errors("ratio: 1" + String(repeating: "0", count: 400) + ".5") == ["1:8: number out of range"])
        #expect(errors("t: 1:" + String(repeating: "59:", count: 20) + "1") == ["1:4: integer out of range"])
    }

    @Test func manyDuplicateKeysAllReported() {
        let text = String(repeating: "k: 1\n", count: 1_000)
        #expect(errors(text).count == 999)
    }

    @Test func secondDocumentStopsParsing() {
        #expect(
            errors("a: 1\n---\n[unclosed\n") == [
                "2:1: a second YAML document is not supported (turnpike reads exactly one)"
            ]
        )
    }

    @Test func longScalarsAndKeys() throws {
        let value = String(repeating: "x", count: 1_000_000)
        #expect(try parse("k: \(value)")["k"]?.string?.count == 1_000_000)
        let key = String(repeating: "k", count: 100_000)
        #expect(errors("\(key): 1\n\(key): 2\n").first?.count ?? 0 < 100)
    }
}

/// A small fixed-seed generator so failures reproduce.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
