/// The handlers of one route (or of the global scope), per phase, resolved by Kong's precedence
/// and sorted by priority when the snapshot is built. The phases, in request order: access
/// (`AccessPhase.swift`), response (`ResponsePhase.swift`), body (`BodyPhase.swift`), log
/// (`LogPhase.swift`); `docs/plugins.md` tells how to write a plugin.
public struct PhaseChains: Sendable {
    public var access: [any AccessHandler] { didSet { self.summarizeAccess() } }
    public var response: [any ResponseHandler]
    public var body: [any BodyHandler]
    public var log: [any LogPhaseHandler]

    public init(
        access: [any AccessHandler] = [],
        response: [any ResponseHandler] = [],
        body: [any BodyHandler] = [],
        log: [any LogPhaseHandler] = []
    ) {
        self.access = access
        self.response = response
        self.body = body
        self.log = log
        self.summarizeAccess()
    }

    /// Whether a handler of the access chain reads the request body (`needsBody`), worked out
    /// once when the chain is made.
    public private(set) var accessNeedsBody = false
    /// The methods the access chain acts on (the union of the handlers' `accessMethods`; nil:
    /// all), worked out once when the chain is made.
    public private(set) var accessMethods: Set<String>?

    /// Where the access chain's handlers read credentials (redacted in log entries).
    public private(set) var credentialLocations = CredentialLocations()

    /// Whether the access phase has anything to do for a request of `method`.
    public func accessActs(on method: String) -> Bool {
        guard !self.access.isEmpty else { return false }
        return self.accessMethods?.contains(method) ?? true
    }

    private mutating func summarizeAccess() {
        self.accessNeedsBody = self.access.contains { $0.needsBody }
        var methods: Set<String>? = []
        for handler in self.access {
            guard let own = handler.accessMethods else {
                methods = nil
                break
            }
            methods?.formUnion(own)
        }
        self.accessMethods = methods
        var locations = CredentialLocations()
        for handler in self.access { locations.formUnion(handler.credentialLocations) }
        self.credentialLocations = locations
    }

    public static let empty = PhaseChains()

    /// Whether anything runs after the access phase (most routes: nothing).
    public var observesResponse: Bool { !self.response.isEmpty || !self.body.isEmpty || !self.log.isEmpty }
}

/// Header names compare ASCII case-insensitively, without lower-cased copies.
public enum HeaderName {
    @inlinable
    public static func equal(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        // Native strings are contiguous: compare their bytes by index, not through iterators.
        let fast: Bool?? = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in Self.equalBytes(x, y) }
        }
        if let fast, let result = fast { return result }
        return Self.equal(a.utf8, b.utf8)
    }

    /// A header name as `ngx.req.get_headers()` finds it (kong.request.get_header): case-insensitive,
    /// `_` read as `-` on both sides.
    public static func lookupEqual(_ header: String, _ name: String) -> Bool {
        guard header.utf8.count == name.utf8.count else { return false }
        for (h, n) in zip(header.utf8, name.utf8) where Self.lookupFold(h) != Self.lookupFold(n) {
            return false
        }
        return true
    }

    /// `lookupEqual` on bytes (a parsed field's name).
    public static func lookupEqual<A: Collection<UInt8>, B: Collection<UInt8>>(_ header: A, _ name: B) -> Bool {
        guard header.count == name.count else { return false }
        for (h, n) in zip(header, name) where Self.lookupFold(h) != Self.lookupFold(n) { return false }
        return true
    }

    static func lookupFold(_ c: UInt8) -> UInt8 {
        (c >= 0x41 && c <= 0x5A) ? c | 0x20 : (c == UInt8(ascii: "_") ? UInt8(ascii: "-") : c)
    }

    @inlinable
    static func equalBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count {
            let x = a[i]
            let y = b[i]
            if x == y { continue }
            let fx = (x >= 0x41 && x <= 0x5A) ? x | 0x20 : x
            let fy = (y >= 0x41 && y <= 0x5A) ? y | 0x20 : y
            if fx != fy { return false }
        }
        return true
    }

    @inlinable
    public static func equal<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let fx = (x >= 0x41 && x <= 0x5A) ? x | 0x20 : x
            let fy = (y >= 0x41 && y <= 0x5A) ? y | 0x20 : y
            if fx != fy { return false }
        }
        return true
    }
}
