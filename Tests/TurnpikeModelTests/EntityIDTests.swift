import Testing
import TurnpikeModel

@Suite struct EntityIDTests {
    @Test func parsesAndPrintsCanonicalForm() throws {
        let id = try #require(EntityID("E9792964-6797-482C-BFDF-08220A4F6832"))
        #expect(id.description == "e9792964-6797-482c-bfdf-08220a4f6832")
        #expect(EntityID("e9792964-6797-482c-bfdf-08220a4f683") == nil)
        #expect(EntityID("e9792964x6797-482c-bfdf-08220a4f6832") == nil)
        #expect(EntityID("g9792964-6797-482c-bfdf-08220a4f6832") == nil)
        #expect(EntityID("") == nil)
    }

    @Test func ordersLikeKongStringComparison() throws {
        let a = try #require(EntityID("0855b320-0dd2-547d-891d-601e9b38647f"))
        let b = try #require(EntityID("481a9539-f49c-51b6-b2e2-fe99ee68866c"))
        #expect(a < b)
        #expect((a < b) == (a.description < b.description))
    }

    /// Ids Kong's own tests hard-code (spec/02-integration/04-admin_api/15-off_spec.lua), recomputed with our UUIDv5.
    @Test(arguments: [
        ("services", "my-service", "0855b320-0dd2-547d-891d-601e9b38647f"),
        ("routes", "my-route", "481a9539-f49c-51b6-b2e2-fe99ee68866c"),
        ("consumers", "my-user", "4b1b701d-de2b-5588-9aa2-3b97061d9f52"),
        ("upstreams", "foo", "fd56258d-1040-5e29-a78a-8f4d9082ec6f"),
        ("plugins", "plugins:*:key-auth:::", "6b4f38d1-e026-540b-a5ea-8634739dd2a7"),
        (
            "targets", "targets:*:e9792964-6797-482c-bfdf-08220a4f6832:10.244.0.11:80",
            "715f9482-4236-5fe5-9ae5-e75c1a498940"
        ),
    ])
    func kongDeclarativeIDs(collection: String, key: String, expected: String) {
        let id = EntityID.v5(namespace: DeclarativeIDs.namespace(collection), name: key)
        #expect(id.description == expected)
    }
}
