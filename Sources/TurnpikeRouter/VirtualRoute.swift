import TurnpikeModel
import TurnpikeRegex

/// One entry of the ranked table: a route, or one path group of a split route, fully compiled.
struct VirtualRoute: Sendable {
    /// Index of the route in the array given to the builder.
    let routeIndex: Int
    let routeID: EntityID
    /// The id Kong sorts ties by (the route id, or the split-group id).
    let sortID: EntityID
    let priority: UInt64
    /// nil: no method criterion.
    let methods: [[UInt8]]?
    /// Empty: no host criterion.
    let hosts: [HostPattern]
    /// Empty: no SNI criterion.
    let snis: [SNIPattern]
    /// Empty: no header criterion. All must hold.
    let headers: [HeaderCriterion]
    /// This group's prefix paths (all one length after splitting), in file order.
    let prefixes: [[UInt8]]
    /// This group's regex paths, in file order (the first that matches supplies the captures).
    let regexes: [CompiledRegex]

    var hasPathCriterion: Bool { !self.prefixes.isEmpty || !self.regexes.isEmpty }
}

/// One `headers` entry: the request must carry that header with some value (lower-cased) equal
/// to one of `values` (lower-cased) or matched by one of `regexes` (`~*re`, lower-cased, searched
/// anywhere in the value as Kong's `~` operator does).
struct HeaderCriterion: Sendable {
    /// Index into the table's header-name list (lower-case, `_` read as `-`).
    let nameID: Int
    let values: [[UInt8]]
    let regexes: [CompiledRegex]
}

enum ASCII {
    /// Lua's `string.lower`: ASCII letters only.
    static func lowercased(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    }

    /// Header names for routing: ASCII lower-case, `_` treated like `-` (kong/router/compat.lua).
    static func headerKey(_ name: String) -> String {
        var bytes = Self.lowercased(name.utf8)
        for i in bytes.indices where bytes[i] == UInt8(ascii: "_") { bytes[i] = UInt8(ascii: "-") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
