import Foundation
import Testing
import TurnpikeTestSupport

/// The CLI contract: exit codes and output formats of the real binary.
@Suite struct CLITests {
    static let badConfig = """
        _format_version: "3.0"
        services:
          - name: s
            host: example.com
            port: 99999
            routes:
              - name: r
                paths: [nope]
        consumers:
          - username: u
            keyauth_credentials:
              - key: hunter2-secret
          - username: v
            keyauth_credentials:
              - key: hunter2-secret

        """

    func write(_ text: String, name: String = "kong.yaml") throws -> URL {
        let dir = try CommandRunner.temporaryDirectory()
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func exampleConfigIsValid() throws {
        let r = try CommandRunner.run(["validate", "kong.yaml.example", "demo/cluster.yaml"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("kong.yaml.example: ok"))
        #expect(r.stdout.contains("demo/cluster.yaml: ok"))
        #expect(r.stderr.isEmpty)
    }

    @Test func invalidConfigExitsOneWithLocatedErrors() throws {
        let url = try write(Self.badConfig)
        let r = try CommandRunner.run(["validate", url.path])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "\(url.path):5:11: services[0].port: value should be between 0 and 65535",
                "\(url.path):8:17: services[0].routes[0].paths[0]: should start with: / (fixed path) or ~/ (regex path)",
                "\(url.path):15:9: consumers[1].keyauth_credentials[0]: uniqueness violation: 'keyauth_credentials' entity with key set to '<redacted>' already declared",
            ]
        )
        #expect(!r.stderr.contains("hunter2"))
    }

    /// No output grows with the size of a bad file: `validate`, `render` and `start` print at
    /// most 1,000 errors per file and count the rest.
    @Test func errorOutputIsCapped() throws {
        var bad = "_format_version: \"3.0\"\nservices:\n"
        for i in 0..<1500 { bad += "  - {name: s\(i), host: example.com, port: x}\n" }
        let url = try write(bad)
        for arguments in [["validate", url.path], ["render", url.path], ["start", "--config", url.path]] {
            let r = try CommandRunner.run(arguments)
            #expect(r.status == 1, "\(arguments[0])")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1001, "\(arguments[0])")
            #expect(lines.last == "\(url.path): … and 500 more errors"[...], "\(arguments[0])")
        }
    }

    @Test func unreadableFileExitsTwo() throws {
        let r = try CommandRunner.run(["validate", "/nonexistent/kong.yaml"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("cannot read /nonexistent/kong.yaml"))
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try CommandRunner.run(["validate"]).status == 2)
        #expect(try CommandRunner.run(["validate", "--no-such-flag", "x"]).status == 2)
        #expect(try CommandRunner.run(["no-such-command"]).status == 2)
    }

    @Test func worstOutcomeWinsAcrossFiles() throws {
        let good = try write("_format_version: \"3.0\"\n")
        let bad = try write(Self.badConfig)
        #expect(try CommandRunner.run(["validate", good.path, bad.path]).status == 1)
        #expect(try CommandRunner.run(["validate", good.path, "/nonexistent", bad.path]).status == 2)
        #expect(try CommandRunner.run(["validate", "--quiet", good.path]).stdout.isEmpty)
    }

    @Test func jsonFormat() throws {
        let url = try write(Self.badConfig)
        let r = try CommandRunner.run(["validate", "--format", "json", url.path])
        #expect(r.status == 1)
        let data = try #require(r.stdout.data(using: .utf8))
        let items = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(items.count == 3)
        #expect(items[0]["file"] as? String == url.path)
        #expect(items[0]["line"] as? Int == 5)
        #expect(items[0]["column"] as? Int == 11)
        #expect(items[0]["path"] as? String == "services[0].port")
        #expect(items[0]["message"] as? String == "value should be between 0 and 65535")
    }

    @Test func githubFormat() throws {
        let url = try write(Self.badConfig, name: "kong,prod.yaml")
        let r = try CommandRunner.run(["validate", "--format", "github", url.path])
        #expect(r.status == 1)
        let first = try #require(r.stdout.split(separator: "\n").first.map(String.init))
        let escapedFile = url.path.replacingOccurrences(of: ",", with: "%2C")
        #expect(
            first == "::error file=\(escapedFile),line=5,col=11::services[0].port: value should be between 0 and 65535"
        )
    }

    @Test func renderRedactsSecretsAndFillsDefaults() throws {
        let r = try CommandRunner.run(["render", "kong.yaml.example"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("key: <redacted>"))
        #expect(!r.stdout.contains("key: apikey"))
        #expect(r.stdout.contains("connect_timeout: 60000"))
        #expect(r.stdout.contains("name: example_service"))
        let json = try CommandRunner.run(["render", "--format", "json", "kong.yaml.example"])
        #expect(json.status == 0)
        let data = try #require(json.stdout.data(using: .utf8))
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(doc["_format_version"] as? String == "3.0")
        #expect((doc["services"] as? [Any])?.count == 1)
    }

    @Test func renderOfInvalidConfigExitsOne() throws {
        let url = try write(Self.badConfig)
        let r = try CommandRunner.run(["render", url.path])
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
    }
}
