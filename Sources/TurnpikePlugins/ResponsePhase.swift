public import NIOCore
public import TurnpikeModel

/// Header fields as they arrived, read-only, protocol-neutral: a parsed head's bytes with the
/// ranges of its fields (no string made until one is read), or a list the gateway made.
public struct HeaderFields: Sendable {
    enum Storage: Sendable {
        case parsed(ByteBuffer, [(name: Range<Int>, value: Range<Int>)])
        case list([(name: String, value: String)])
    }

    let storage: Storage

    /// Fields of a parsed head: `bytes` holds them at the given ranges.
    public init(bytes: ByteBuffer, fields: [(name: Range<Int>, value: Range<Int>)]) {
        self.storage = .parsed(bytes, fields)
    }

    public init(_ list: [(name: String, value: String)] = []) {
        self.storage = .list(list)
    }

    public var count: Int {
        switch self.storage {
        case .parsed(_, let fields): return fields.count
        case .list(let list): return list.count
        }
    }

    /// Every value of `name` (case-insensitive), in order.
    public func values(_ name: String) -> [String] {
        switch self.storage {
        case .parsed(let bytes, let fields):
            return fields.compactMap { field in
                guard Self.nameEquals(bytes, field.name, name) else { return nil }
                return bytes.getString(at: field.value.lowerBound, length: field.value.count)
            }
        case .list(let list):
            return list.filter { HeaderName.equal($0.name, name) }.map(\.value)
        }
    }

    /// The first value of `name` (case-insensitive).
    public func first(_ name: String) -> String? {
        switch self.storage {
        case .parsed(let bytes, let fields):
            for field in fields where Self.nameEquals(bytes, field.name, name) {
                return bytes.getString(at: field.value.lowerBound, length: field.value.count)
            }
            return nil
        case .list(let list):
            return list.first { HeaderName.equal($0.name, name) }?.value
        }
    }

    public func contains(_ name: String) -> Bool {
        switch self.storage {
        case .parsed(let bytes, let fields): return fields.contains { Self.nameEquals(bytes, $0.name, name) }
        case .list(let list): return list.contains { HeaderName.equal($0.name, name) }
        }
    }

    /// Every field as strings, in order.
    public var pairs: [(name: String, value: String)] {
        switch self.storage {
        case .parsed(let bytes, let fields):
            return fields.map { field in
                (
                    bytes.getString(at: field.name.lowerBound, length: field.name.count) ?? "",
                    bytes.getString(at: field.value.lowerBound, length: field.value.count) ?? ""
                )
            }
        case .list(let list):
            return list
        }
    }

    static func nameEquals(_ bytes: ByteBuffer, _ range: Range<Int>, _ name: String) -> Bool {
        guard range.count == name.utf8.count else { return false }
        return bytes.withUnsafeReadableBytes { raw in
            HeaderName.equal(UnsafeRawBufferPointer(rebasing: raw[range]), name.utf8)
        }
    }
}

/// The response phase (Kong's `header_filter`): the status and headers about to go to the client,
/// whether the upstream answered or the gateway did (an access-phase 401, a 502, …). Handlers read
/// the headers and change them; the body streams through untouched (see `BodyHandler`).
public struct ResponseContext: Sendable {
    public let status: Int
    public let requestID: RequestID
    /// The consumer the access phase identified, if any.
    public let consumer: Consumer?
    /// The headers as they came (the upstream's, or the gateway's own), before the edits below.
    public let headers: HeaderFields
    /// The request's header fields as the client sent them (Kong's `kong.request.get_header` in
    /// header_filter).
    public let requestHeaders: HeaderFields
    /// Kong's `kong.ctx`, as the access phase left it.
    public var plugins: PluginContext
    /// Header names removed (case-insensitive), then `set` written (replacing), then `add`.
    public private(set) var remove: [String] = []
    public private(set) var set: [(name: String, value: String)] = []
    public private(set) var add: [(name: String, value: String)] = []

    public init(
        status: Int,
        requestID: RequestID,
        consumer: Consumer?,
        headers: HeaderFields = HeaderFields(),
        requestHeaders: HeaderFields = HeaderFields(),
        plugins: PluginContext = PluginContext()
    ) {
        self.status = status
        self.requestID = requestID
        self.consumer = consumer
        self.headers = headers
        self.requestHeaders = requestHeaders
        self.plugins = plugins
    }

    /// Replaces the header sent to the client (a later handler's value wins); nil removes it
    /// (Kong's `kong.response.set_header` / `clear_header`).
    public mutating func setHeader(_ name: String, _ value: String?) {
        self.add.removeAll { HeaderName.equal($0.name, name) }
        HeaderEdits.set(name, value, remove: &self.remove, set: &self.set)
    }

    /// `setHeader` for each pair, in order (names distinct); the usual case, the first handler to
    /// edit headers, takes the list as it is instead of comparing names (and `names`, the pairs'
    /// names in order, when the caller keeps that list).
    public mutating func setHeaders(_ headers: [(name: String, value: String)], names: [String]? = nil) {
        guard self.set.isEmpty && self.remove.isEmpty && self.add.isEmpty else {
            for (name, value) in headers { self.setHeader(name, value) }
            return
        }
        self.remove = names ?? headers.map(\.name)
        self.set = headers
    }

    /// Adds one more line of the header, keeping the others (Kong's `kong.response.add_header`,
    /// as cors adds `Vary: Origin`).
    public mutating func addHeader(_ name: String, _ value: String) {
        self.add.append((name, value))
    }

    /// Whether a header from the upstream or the gateway is dropped or replaced.
    public func removes(_ name: String) -> Bool {
        self.remove.contains { HeaderName.equal($0, name) }
    }

    /// The header's first value as it will go out, edits included.
    public func header(_ name: String) -> String? {
        if let set = self.set.first(where: { HeaderName.equal($0.name, name) }) { return set.value }
        if !self.removes(name), let original = self.headers.first(name) { return original }
        return self.add.first { HeaderName.equal($0.name, name) }?.value
    }

    /// Set by `exit`: the status the client gets instead, with no body.
    public private(set) var exitStatus: Int?

    /// Kong's `kong.response.exit(status)` in header_filter: the client gets `status` with the
    /// headers as edited and an empty body (the upstream's body is read and dropped).
    public mutating func exit(status: Int) {
        self.exitStatus = status
    }

    /// Whether any handler changed a header.
    public var hasEdits: Bool { !self.remove.isEmpty || !self.add.isEmpty }
}

public protocol ResponseHandler: Sendable {
    var name: String { get }
    func response(_ context: inout ResponseContext)
}

/// Header edits shared by the request and response sides: replacing means removing every line of
/// the name, then writing the new one.
enum HeaderEdits {
    static func set(
        _ name: String,
        _ value: String?,
        remove: inout [String],
        set: inout [(name: String, value: String)]
    ) {
        if let i = set.firstIndex(where: { HeaderName.equal($0.name, name) }) { set.remove(at: i) }
        if !remove.contains(where: { HeaderName.equal($0, name) }) { remove.append(name) }
        if let value { set.append((name, value)) }
    }
}
