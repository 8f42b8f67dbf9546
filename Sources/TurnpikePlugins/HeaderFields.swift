public import NIOCore

/// Header fields as they arrived, read-only, protocol-neutral: a parsed head's bytes with the
/// ranges of its fields (no string is made until one is read), or a list the gateway (or a test)
/// made. A collection of `(name, value)` pairs in order; the lookups by name below compare bytes,
/// so a plugin looking for one header makes strings for what it finds only.
public struct HeaderFields: Sendable, RandomAccessCollection, ExpressibleByArrayLiteral {
    public typealias Field = (name: String, value: String)

    enum Storage: Sendable {
        case parsed(ByteBuffer, [(name: Range<Int>, value: Range<Int>)])
        case list([Field])
    }

    let storage: Storage

    /// Fields of a parsed head: `bytes` holds them at the given ranges.
    public init(bytes: ByteBuffer, fields: [(name: Range<Int>, value: Range<Int>)]) {
        self.storage = .parsed(bytes, fields)
    }

    public init(_ list: [Field] = []) {
        self.storage = .list(list)
    }

    public init(arrayLiteral elements: Field...) {
        self.storage = .list(elements)
    }

    // MARK: collection

    public var startIndex: Int { 0 }

    public var endIndex: Int {
        switch self.storage {
        case .parsed(_, let fields): return fields.count
        case .list(let list): return list.count
        }
    }

    public subscript(position: Int) -> Field {
        switch self.storage {
        case .parsed(let bytes, let fields):
            let field = fields[position]
            return (Self.string(bytes, field.name), Self.string(bytes, field.value))
        case .list(let list):
            return list[position]
        }
    }

    /// The first `count` fields (Kong's `lua_max_req_headers`: the rest are forwarded unread);
    /// the same storage when there are no more.
    public func prefix(fields count: Int) -> HeaderFields {
        guard count < self.count else { return self }
        switch self.storage {
        case .parsed(let bytes, let fields): return HeaderFields(bytes: bytes, fields: Array(fields.prefix(count)))
        case .list(let list): return HeaderFields(Array(list.prefix(count)))
        }
    }

    /// Every field as strings, in order.
    public var pairs: [Field] {
        switch self.storage {
        case .parsed: return Array(self)
        case .list(let list): return list
        }
    }

    // MARK: lookups by name

    /// The fields whose name's bytes satisfy `matches`, in order (strings made for these only).
    public func fields(whereName matches: (UnsafeRawBufferPointer) -> Bool) -> [Field] {
        var out: [Field] = []
        switch self.storage {
        case .parsed(let bytes, let fields):
            bytes.withUnsafeReadableBytes { raw in
                for field in fields where matches(UnsafeRawBufferPointer(rebasing: raw[field.name])) {
                    out.append((Self.string(raw, field.name), Self.string(raw, field.value)))
                }
            }
        case .list(let list):
            for field in list where Self.withBytes(field.name, matches) { out.append(field) }
        }
        return out
    }

    /// The first field whose name's bytes satisfy `matches`.
    public func firstField(whereName matches: (UnsafeRawBufferPointer) -> Bool) -> Field? {
        switch self.storage {
        case .parsed(let bytes, let fields):
            return bytes.withUnsafeReadableBytes { raw in
                for field in fields where matches(UnsafeRawBufferPointer(rebasing: raw[field.name])) {
                    return (Self.string(raw, field.name), Self.string(raw, field.value))
                }
                return nil
            }
        case .list(let list):
            return list.first { Self.withBytes($0.name, matches) }
        }
    }

    /// Every value of `name` (case-insensitive), in order.
    public func values(_ name: String) -> [String] {
        var out: [String] = []
        self.forEachValue(whereName: { HeaderName.equal($0, name.utf8) }) { out.append($0) }
        return out
    }

    /// The first value of `name` (case-insensitive).
    public func first(_ name: String) -> String? {
        self.firstValue { HeaderName.equal($0, name.utf8) }
    }

    public func contains(_ name: String) -> Bool {
        switch self.storage {
        case .parsed(let bytes, let fields):
            return bytes.withUnsafeReadableBytes { raw in
                fields.contains { HeaderName.equal(UnsafeRawBufferPointer(rebasing: raw[$0.name]), name.utf8) }
            }
        case .list(let list):
            return list.contains { HeaderName.equal($0.name, name) }
        }
    }

    /// The first value of `name` as Kong's `kong.request.get_header` finds it: case-insensitive,
    /// `_` read as `-` on both sides.
    public func lookup(_ name: String) -> String? {
        self.firstValue { HeaderName.lookupEqual($0, name.utf8) }
    }

    /// The first value whose name's bytes satisfy `matches` (no string made for the name).
    func firstValue(whereName matches: (UnsafeRawBufferPointer) -> Bool) -> String? {
        var found: String?
        self.forEachValue(whereName: matches) { value in
            found = value
            return false
        }
        return found
    }

    /// Calls `body` with each value whose name matches, in order, until it returns false.
    func forEachValue(whereName matches: (UnsafeRawBufferPointer) -> Bool, _ body: (String) -> Bool) {
        switch self.storage {
        case .parsed(let bytes, let fields):
            bytes.withUnsafeReadableBytes { raw in
                for field in fields where matches(UnsafeRawBufferPointer(rebasing: raw[field.name])) {
                    if !body(Self.string(raw, field.value)) { return }
                }
            }
        case .list(let list):
            for field in list where Self.withBytes(field.name, matches) {
                if !body(field.value) { return }
            }
        }
    }

    func forEachValue(whereName matches: (UnsafeRawBufferPointer) -> Bool, _ body: (String) -> Void) {
        self.forEachValue(whereName: matches) { (value: String) -> Bool in
            body(value)
            return true
        }
    }

    /// `lookup`'s value as the bytes that came (no UTF-8 repair: hmac-auth signs them).
    public func lookupBytes(_ name: String) -> [UInt8]? {
        switch self.storage {
        case .parsed(let bytes, let fields):
            return bytes.withUnsafeReadableBytes { raw in
                for field in fields
                where HeaderName.lookupEqual(UnsafeRawBufferPointer(rebasing: raw[field.name]), name.utf8) {
                    return Array(UnsafeRawBufferPointer(rebasing: raw[field.value]))
                }
                return nil
            }
        case .list(let list):
            return list.first { Self.withBytes($0.name) { HeaderName.lookupEqual($0, name.utf8) } }.map {
                Array($0.value.utf8)
            }
        }
    }

    static func string(_ bytes: ByteBuffer, _ range: Range<Int>) -> String {
        bytes.getString(at: bytes.readerIndex + range.lowerBound, length: range.count) ?? ""
    }

    static func string(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: raw[range]), as: UTF8.self)
    }

    static func withBytes(_ name: String, _ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        var name = name
        return name.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}
