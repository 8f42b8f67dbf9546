import NIOCore

/// Why a message cannot be read. The request side maps these to statuses (400, 414, 501);
/// the upstream side turns any of them into a 502.
enum HTTPWireError: Error, Equatable {
    case invalid(String)
    /// The request target is longer than allowed (414).
    case uriTooLong
    /// The head (or one of its fields) is larger than allowed (nginx's 494, answered as 400).
    case headTooLarge
    /// A Transfer-Encoding other than chunked (501).
    case unsupportedTransferEncoding
}

/// A head parsed in place (a request's or a response's): its bytes and the ranges of its fields.
/// Names and values become strings only when asked for.
protocol ParsedHead {
    var bytes: ByteBuffer { get }
    var fields: [(name: Range<Int>, value: Range<Int>)] { get }
}

extension ParsedHead {
    func name(_ i: Int) -> String { self.string(self.fields[i].name) }
    func value(_ i: Int) -> String { self.string(self.fields[i].value) }

    func string(_ range: Range<Int>) -> String {
        self.bytes.getString(at: range.lowerBound, length: range.count) ?? ""
    }

    /// Whether field `i` is called `lower` (a lower-case name).
    func nameEquals(_ i: Int, _ lower: StaticString) -> Bool {
        let range = self.fields[i].name
        guard range.count == lower.utf8CodeUnitCount else { return false }
        return self.bytes.withUnsafeReadableBytes { raw in
            HeaderRules.equals(UnsafeRawBufferPointer(rebasing: raw[range]), lower)
        }
    }

    /// The first value of header `lower`.
    func first(name lower: StaticString) -> String? {
        for i in self.fields.indices where self.nameEquals(i, lower) { return self.value(i) }
        return nil
    }

    func contains(name lower: StaticString) -> Bool {
        self.fields.indices.contains { self.nameEquals($0, lower) }
    }

    /// Values of every field called `lower`.
    func values(_ lower: StaticString) -> [String] {
        self.fields.indices.filter { self.nameEquals($0, lower) }.map { self.value($0) }
    }
}

/// The header section grammar shared by requests and responses (RFC 9112 §5): strict where a
/// lenient reading would let two parsers disagree on where a message ends.
enum HeadSyntax {
    /// tchar (RFC 9110 §5.6.2).
    @inline(__always)
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
        default: return false
        }
    }

    /// The length of a head including its empty line, or nil when it is not complete yet.
    /// `from`: how many bytes were already searched without finding it, so a head that trickles in
    /// is not searched from its start at every read.
    static func headEnd(_ buffer: ByteBuffer, from: Int = 0) -> Int? {
        buffer.withUnsafeReadableBytes { raw -> Int? in
            guard raw.count >= 4 else { return nil }
            var i = max(3, from)
            while i < raw.count {
                let c = raw[i]
                if c == 0x0A {
                    if raw[i - 1] == 0x0D && raw[i - 2] == 0x0A && raw[i - 3] == 0x0D { return i + 1 }
                    i += 1
                } else if c == 0x0D {
                    i += 1
                } else {
                    // Neither CR nor LF: the end cannot close within the next three bytes.
                    i += 4
                }
            }
            return nil
        }
    }

    /// Parses the field lines starting at `start` up to and including the empty line, into
    /// `fields` (name and value ranges, the value without surrounding whitespace). `fields` is
    /// emptied first: a parser passes the array of its previous head, whose storage is reused,
    /// with no allocation, once that head is gone.
    static func fields(
        _ raw: UnsafeRawBufferPointer,
        from start: Int,
        maxFields: Int,
        maxLineBytes: Int = .max,
        ignoringInvalidNames: Bool = false,
        into fields: inout [(name: Range<Int>, value: Range<Int>)]
    ) throws {
        fields.removeAll(keepingCapacity: true)
        fields.reserveCapacity(12)
        var i = start
        while true {
            guard i + 1 < raw.count else { throw HTTPWireError.invalid("truncated head") }
            if raw[i] == 0x0D {
                guard raw[i + 1] == 0x0A else { throw HTTPWireError.invalid("bad line ending") }
                return
            }
            // field-name: a token, then ':' with no whitespace before it; a line starting with
            // whitespace is obsolete line folding.
            let nameStart = i
            while i < raw.count && Self.isTokenByte(raw[i]) { i += 1 }
            guard i > nameStart, i < raw.count, raw[i] == 0x3A else { throw HTTPWireError.invalid("bad header field") }
            let name = nameStart..<i
            i += 1
            while i < raw.count && (raw[i] == 0x20 || raw[i] == 0x09) { i += 1 }
            let valueStart = i
            var valueEnd = i
            while i < raw.count && raw[i] != 0x0D && raw[i] != 0x0A {
                let c = raw[i]
                guard c == 0x09 || c >= 0x20 && c != 0x7F else { throw HTTPWireError.invalid("bad header value") }
                i += 1
                if c != 0x20 && c != 0x09 { valueEnd = i }
            }
            guard i + 1 < raw.count, raw[i] == 0x0D, raw[i + 1] == 0x0A else {
                throw HTTPWireError.invalid("bad line ending")
            }
            i += 2
            guard i - nameStart <= maxLineBytes else { throw HTTPWireError.headTooLarge }
            // nginx's `ignore_invalid_headers on` with `underscores_in_headers off` (Kong's
            // defaults): a request field whose name has anything but letters, digits and `-` is
            // dropped, never seen by plugins nor sent upstream (`X_Consumer_ID` would reach an
            // upstream that reads `_` as `-` as an identity header).
            if ignoringInvalidNames && !Self.isNginxHeaderName(UnsafeRawBufferPointer(rebasing: raw[name])) { continue }
            fields.append((name, valueStart..<valueEnd))
            guard fields.count <= maxFields else { throw HTTPWireError.headTooLarge }
        }
    }

    /// Letters, digits and `-` only (nginx's valid header name with underscores off).
    static func isNginxHeaderName(_ name: UnsafeRawBufferPointer) -> Bool {
        for c in name {
            let ok =
                (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39)
                || c == UInt8(ascii: "-")
            if !ok { return false }
        }
        return true
    }

    /// A Content-Length value: digits, or a list of equal values (RFC 9110 §8.6); merged with
    /// `known` from an earlier field, which must agree.
    static func contentLength(_ value: UnsafeRawBufferPointer, known: Int?) throws -> Int {
        var result = known
        try Self.forEachElement(of: value) { digits in
            guard !digits.isEmpty, digits.count <= 15, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw HTTPWireError.invalid("bad Content-Length")
            }
            var n = 0
            for digit in digits { n = n * 10 + Int(digit - 0x30) }
            if let result, result != n { throw HTTPWireError.invalid("conflicting Content-Length") }
            result = n
        }
        return result ?? 0
    }

    /// Whether `chunked` is the final transfer coding of a Transfer-Encoding value.
    static func endsWithChunked(_ value: UnsafeRawBufferPointer) -> Bool {
        guard let last = value.split(separator: 0x2C).last else { return false }
        return HeaderRules.equals(Self.trimmed(last), "chunked")
    }

    /// Whether the value is exactly `chunked`.
    static func isOnlyChunked(_ value: UnsafeRawBufferPointer) -> Bool {
        HeaderRules.equals(Self.trimmed(value[...]), "chunked")
    }

    /// The options of a Connection value: `close`, `keep-alive`, `upgrade`, and whether it names
    /// other fields (which are then connection-specific and not forwarded).
    static func connectionOptions(
        _ value: UnsafeRawBufferPointer,
        close: inout Bool,
        keepAlive: inout Bool,
        upgrade: inout Bool,
        names: inout Bool
    ) {
        Self.forEachElement(of: value) { t in
            if HeaderRules.equals(t, "close") {
                close = true
            } else if HeaderRules.equals(t, "keep-alive") {
                keepAlive = true
            } else if HeaderRules.equals(t, "upgrade") {
                upgrade = true
            } else if !t.isEmpty {
                names = true
            }
        }
    }

    /// Each element of a comma-separated field value, trimmed, empty ones included (`a,,b` has
    /// three), scanned in place: no `split`, whose array costs an allocation per message.
    static func forEachElement(
        of value: UnsafeRawBufferPointer,
        _ body: (Slice<UnsafeRawBufferPointer>) throws -> Void
    ) rethrows {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count && value[end] != 0x2C { end += 1 }
            try body(Self.trimmed(value[start..<end]))
            start = end + 1
        }
    }

    /// Without leading and trailing spaces and tabs.
    static func trimmed(_ part: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        var start = part.startIndex
        var end = part.endIndex
        while start < end && (part[start] == 0x20 || part[start] == 0x09) { start += 1 }
        while end > start && (part[end - 1] == 0x20 || part[end - 1] == 0x09) { end -= 1 }
        return part[start..<end]
    }
}

/// The fields that frame a message (Content-Length, Transfer-Encoding, Connection), gathered in
/// the one pass each parser makes over a head's fields. What a message does with them differs
/// (a request refuses both lengths at once, a response lets Transfer-Encoding win).
struct Framing {
    private(set) var contentLength: Int?
    private(set) var transferEncoding: Range<Int>?
    private(set) var transferEncodingCount = 0
    private(set) var close = false
    private(set) var keepAlive = false
    /// `Connection: upgrade`.
    private(set) var upgrade = false
    /// The Connection field names other fields, which must not be forwarded.
    private(set) var namesFields = false

    /// Takes field `name: value` if it frames the message; false for any other field.
    mutating func note(
        _ name: UnsafeRawBufferPointer,
        _ value: UnsafeRawBufferPointer,
        at range: Range<Int>
    ) throws -> Bool {
        switch name.count {
        case 10 where HeaderRules.equals(name, "connection"):
            HeadSyntax.connectionOptions(
                value,
                close: &self.close,
                keepAlive: &self.keepAlive,
                upgrade: &self.upgrade,
                names: &self.namesFields
            )
        case 14 where HeaderRules.equals(name, "content-length"):
            self.contentLength = try HeadSyntax.contentLength(value, known: self.contentLength)
        case 17 where HeaderRules.equals(name, "transfer-encoding"):
            self.transferEncoding = range
            self.transferEncodingCount += 1
        default:
            return false
        }
        return true
    }

    /// Keep-alive by the version's default and the Connection options.
    func isKeepAlive(minorVersion: Int) -> Bool {
        minorVersion == 1 ? !self.close : self.keepAlive && !self.close
    }
}

/// The bytes of a head that has not fully arrived, kept between reads; the search for its end
/// resumes where the previous one stopped.
struct PendingHead {
    private var held: ByteBuffer?
    private var searched = 0

    mutating func reset() {
        self.held = nil
        self.searched = 0
    }

    /// Joins what was held with `buffer`, calls `prepare` on the joined bytes, and returns the
    /// length of the complete head at their start, or nil after holding them (`checkPartial`,
    /// given the bytes and how many were looked at before, may refuse them first).
    mutating func next(
        _ buffer: inout ByteBuffer,
        prepare: (inout ByteBuffer) -> Void = { _ in },
        checkPartial: (ByteBuffer, Int) throws -> Void
    ) throws -> Int? {
        if var held = self.held {
            held.writeBuffer(&buffer)
            self.held = nil
            buffer = held
        }
        prepare(&buffer)
        guard let end = HeadSyntax.headEnd(buffer, from: self.searched) else {
            try checkPartial(buffer, self.searched)
            self.searched = buffer.readableBytes
            if buffer.readableBytes > 0 { self.held = buffer.readSlice(length: buffer.readableBytes) }
            return nil
        }
        self.searched = 0
        return end
    }
}

/// Chunked transfer coding, decoding side (RFC 9112 §7.1): sizes, extensions (ignored), data,
/// trailer fields (ignored). Sizes are bounded.
struct ChunkedDecoder {
    enum Step: Equatable {
        case size(value: Int, digits: Int, inExtension: Bool)
        case sizeLF(size: Int)
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailer(lineEmpty: Bool)
        case trailerLF(lineEmpty: Bool)
    }

    private(set) var step = Step.size(value: 0, digits: 0, inExtension: false)
    /// Bytes of size lines (extensions included) and of the trailer section, which are bounded.
    private var metaBytes = 0
    static let maxMetaBytes = 16 * 1024

    /// Reads from `buffer`; emits data slices; returns true when the body ended (the last chunk
    /// and trailer section were read).
    mutating func read(_ buffer: inout ByteBuffer, _ emit: (ByteBuffer) -> Void) throws -> Bool {
        while buffer.readableBytes > 0 {
            if case .data(let remaining) = self.step {
                let n = min(remaining, buffer.readableBytes)
                emit(buffer.readSlice(length: n)!)
                self.step = n == remaining ? .dataCR : .data(remaining: remaining - n)
                continue
            }
            let c = buffer.readInteger(as: UInt8.self)!
            if case .size = self.step { self.metaBytes += 1 }
            if case .trailer = self.step { self.metaBytes += 1 }
            if self.metaBytes > Self.maxMetaBytes { throw HTTPWireError.invalid("chunk metadata too large") }
            switch self.step {
            case .size(let value, let digits, let inExtension):
                if c == 0x0D {
                    guard digits > 0 else { throw HTTPWireError.invalid("bad chunk size") }
                    self.step = .sizeLF(size: value)
                } else if inExtension {
                    guard c == 0x09 || c >= 0x20 && c != 0x7F else {
                        throw HTTPWireError.invalid("bad chunk extension")
                    }
                } else if c == 0x3B || c == 0x20 || c == 0x09 {
                    guard digits > 0 else { throw HTTPWireError.invalid("bad chunk size") }
                    self.step = .size(value: value, digits: digits, inExtension: true)
                } else if let d = Self.hexValue(c) {
                    guard digits < 15 else { throw HTTPWireError.invalid("chunk size too large") }
                    self.step = .size(value: value << 4 | d, digits: digits + 1, inExtension: false)
                } else {
                    throw HTTPWireError.invalid("bad chunk size")
                }
            case .sizeLF(let size):
                guard c == 0x0A else { throw HTTPWireError.invalid("bad chunk size line") }
                self.step = size == 0 ? .trailer(lineEmpty: true) : .data(remaining: size)
            case .dataCR:
                guard c == 0x0D else { throw HTTPWireError.invalid("bad chunk end") }
                self.step = .dataLF
            case .dataLF:
                guard c == 0x0A else { throw HTTPWireError.invalid("bad chunk end") }
                self.step = .size(value: 0, digits: 0, inExtension: false)
                self.metaBytes = 0
            case .trailer(let lineEmpty):
                // Trailer lines end with CRLF and hold no control characters: a bare LF here is
                // where a laxer hop would see the message end.
                if c == 0x0D {
                    self.step = .trailerLF(lineEmpty: lineEmpty)
                } else {
                    guard c == 0x09 || c >= 0x20 && c != 0x7F else { throw HTTPWireError.invalid("bad trailer line") }
                    self.step = .trailer(lineEmpty: false)
                }
            case .trailerLF(let lineEmpty):
                guard c == 0x0A else { throw HTTPWireError.invalid("bad trailer line") }
                if lineEmpty {
                    self.step = .size(value: 0, digits: 0, inExtension: false)
                    self.metaBytes = 0
                    return true
                }
                self.step = .trailer(lineEmpty: true)
            case .data:
                break
            }
        }
        return false
    }

    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return nil
        }
    }
}
