import TurnpikeModel
import TurnpikeRouter

/// Builds routes for tests without YAML.
enum TestRoutes {
    static let location = SourceLocation(file: "test.yaml", line: 1, column: 1)

    static func route(
        _ name: String,
        id: EntityID? = nil,
        methods: [String]? = nil,
        hosts: [String]? = nil,
        paths: [String]? = nil,
        headers: [(name: String, values: [String])]? = nil,
        snis: [String]? = nil,
        regexPriority: Int = 0,
        protocols: [EntityProtocol] = [.http, .https],
        stripPath: Bool = true
    ) -> Route {
        var r = Route(
            id: id ?? EntityID.v5(namespace: DeclarativeIDs.routes, name: name),
            location: location,
            path: FieldPath("routes[\(name)]")
        )
        r.name = name
        r.methods = methods
        r.hosts = hosts
        r.paths = paths
        r.headers = headers
        r.snis = snis
        r.regexPriority = regexPriority
        r.protocols = protocols
        r.stripPath = stripPath
        return r
    }

    static func table(_ routes: [Route], mode: PriorityMode = .kongCompatible) throws(RouteTableError) -> RouteTable {
        try RouteTableBuilder(priorityMode: mode).build(routes)
    }
}
