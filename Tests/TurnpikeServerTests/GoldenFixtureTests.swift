import Foundation
import Testing
import TurnpikeEngine
import TurnpikeModel
import TurnpikeServer
import TurnpikeTestSupport
import TurnpikeYAML

/// Golden fixtures, after Caddy's adapt tests: `valid/x.yaml` renders to `x.rendered`;
/// `invalid/y.yaml` fails with exactly the lines of `y.errors`. `UPDATE_GOLDEN=1` rewrites them
/// (then read the diff before committing).
@Suite struct GoldenFixtureTests {
    static let root = Fixtures.directory()
    static let valid =
        Fixtures.files(in: root.appendingPathComponent("valid"), withExtension: "yaml")
        + Fixtures.files(in: root.appendingPathComponent("valid"), withExtension: "json")
    static let invalid =
        Fixtures.files(in: root.appendingPathComponent("invalid"), withExtension: "yaml")
        + Fixtures.files(in: root.appendingPathComponent("invalid"), withExtension: "json")

    static func compile(_ url: URL) -> ConfigLoader.Outcome {
        let bytes = Array((try? Data(contentsOf: url)) ?? Data())
        return ConfigLoader().compile(bytes, file: url.lastPathComponent)
    }

    @Test func fixturesExist() {
        #expect(Self.valid.count >= 5)
        #expect(Self.invalid.count >= 5)
    }

    @Test(arguments: valid)
    func validFixtureRendersAsExpected(_ url: URL) throws {
        let expectedURL = url.deletingPathExtension().appendingPathExtension("rendered")
        switch Self.compile(url) {
        case .valid(let snapshot):
            let text = YAMLEmitter.emit(snapshot.rendered())
            if Fixtures.updating {
                try Fixtures.write(text, to: expectedURL)
                return
            }
            let expected = try #require(Fixtures.text(expectedURL), "missing \(expectedURL.lastPathComponent)")
            #expect(text == expected, "\(url.lastPathComponent) renders differently")
        case .invalid(let errors):
            let lines = errors.map(\.description).joined(separator: "\n")
            Issue.record("\(url.lastPathComponent) should be valid:\n\(lines)")
        case .unreadable(let message):
            Issue.record("\(message)")
        }
    }

    @Test(arguments: invalid)
    func invalidFixtureReportsExactErrors(_ url: URL) throws {
        let expectedURL = url.deletingPathExtension().appendingPathExtension("errors")
        switch Self.compile(url) {
        case .valid:
            Issue.record("\(url.lastPathComponent) should be invalid")
        case .invalid(let errors):
            let text = errors.map { $0.description + "\n" }.joined()
            if Fixtures.updating {
                try Fixtures.write(text, to: expectedURL)
                return
            }
            let expected = try #require(Fixtures.text(expectedURL), "missing \(expectedURL.lastPathComponent)")
            #expect(text == expected, "\(url.lastPathComponent) reports different errors")
        case .unreadable(let message):
            Issue.record("\(message)")
        }
    }
}
