import Foundation
import Testing
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeServer
import TurnpikeTestSupport

/// A config written nested and the same config written flat load into the same entities.
/// Plugin and target ids differ by design: Kong derives them from references as written (a
/// parent's id when nested, the name when flat), and so do we.
@Suite struct NestedFlatEquivalenceTests {
    func load(_ name: String) throws -> Snapshot {
        let url = Fixtures.directory().appendingPathComponent("valid").appendingPathComponent(name)
        let bytes = Array(try Data(contentsOf: url))
        guard case .valid(let snapshot) = ConfigLoader().compile(bytes, file: name) else {
            Issue.record("\(name) did not load")
            throw CancellationError()
        }
        return snapshot
    }

    func section(_ doc: Rendered, _ key: String) -> Rendered? {
        guard case .object(let fields) = doc else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    /// Drops `id` from each entry and sorts entries by their JSON text.
    func withoutIDs(_ list: Rendered?) -> [String] {
        guard case .array(let items)? = list else { return [] }
        return items.map { item -> String in
            guard case .object(let fields) = item else { return item.json }
            return Rendered.object(fields.filter { $0.0 != "id" }).json
        }.sorted()
    }

    @Test func nestedAndFlatLoadTheSameEntities() throws {
        let nested = try load("nested.yaml").rendered()
        let flat = try load("flat.yaml").rendered()
        for key in ["services", "routes", "consumers", "keyauth_credentials", "acls", "upstreams"] {
            #expect(section(nested, key) == section(flat, key), "\(key) differ")
        }
        #expect(withoutIDs(section(nested, "plugins")) == withoutIDs(section(flat, "plugins")))
        #expect(withoutIDs(section(nested, "targets")) == withoutIDs(section(flat, "targets")))
        #expect(withoutIDs(section(nested, "plugins")).count == 2)
    }

    @Test func snapshotIndexesAndHash() throws {
        let s = try load("nested.yaml")
        #expect(s.hash.count == 32)
        #expect(s.generation == 1)
        #expect(s.credentials(KeyAuthCredential.self)?.credential(key: "alice-key") != nil)
        #expect(s.credentials(KeyAuthCredential.self)?.credential(key: "nope") == nil)
        #expect(s.consumer(idOrUsername: "alice")?.username == "alice")
        #expect(s.credentials(ACLGroup.self)?.groups(consumer: s.model.consumers[0].id) == ["blocked"])
        #expect(s.servicesByName["svc"] != nil)
        #expect(s.routesByName["r1"] != nil)
        #expect(s.plugins.map(\.instance.name).sorted() == ["acl", "key-auth"])
    }

    @Test func hashIsMD5OfFileBytesAndZeroWhenEmpty() throws {
        let text = "_format_version: \"3.0\"\nservices:\n- name: s\n  host: h.example\n"
        guard case .valid(let s) = ConfigLoader().compile(Array(text.utf8), file: "k.yaml") else {
            Issue.record("should load")
            return
        }
        #expect(s.hash == ConfigLoader.md5Hex(Array(text.utf8)))
        #expect(ConfigLoader.md5Hex(Array("".utf8)) == "d41d8cd98f00b204e9800998ecf8427e")
        guard case .valid(let empty) = ConfigLoader().compile(Array("_format_version: \"3.0\"\n".utf8), file: "e.yaml")
        else {
            Issue.record("should load")
            return
        }
        #expect(empty.hash == String(repeating: "0", count: 32))
    }
}
