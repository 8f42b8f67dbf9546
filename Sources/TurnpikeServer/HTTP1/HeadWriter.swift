import NIOCore
import NIOHTTP1
import TurnpikePlugins

/// Writes an HTTP/1.x head straight into bytes: the proxy sends heads it builds itself instead of
/// going through NIO's encoders (no `HTTPHeaders` built only to be serialized, no extra pipeline
/// hop). Names and values come from NIO's parser (already valid) or from the gateway; values that
/// come from configuration go through `sanitized` first.
///
/// The writer copies into the buffer's memory directly, within one `write` call: one bounds check
/// per piece instead of the buffer's own checks (and exclusivity checks) for every small write.
struct HeadWriter {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private(set) var count = 0
    /// Set when a piece did not fit; `write` then starts again with a larger buffer.
    private(set) var overflowed = false

    private init(_ raw: UnsafeMutableRawBufferPointer) {
        self.base = raw.baseAddress!
        self.capacity = raw.count
    }

    /// Builds a head: `body` writes the start line and the header lines, the empty line that ends
    /// the head is added here. `body` may run more than once (when `capacity` was too small), so
    /// it must only write.
    static func write(allocator: ByteBufferAllocator, capacity: Int, _ body: (inout HeadWriter) -> Void) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: max(capacity, 64))
        Self.write(into: &buffer, allocator: allocator, capacity: capacity, body)
        return buffer
    }

    /// `write`, reusing `buffer`'s memory: a connection keeps one buffer per kind of head and
    /// writes each head over the last. Once the channel has sent the last head, nothing else holds
    /// the buffer and no allocation happens; while something does, `clear` gives a fresh one
    /// (value semantics: the head being sent is never overwritten). A buffer grown past
    /// `retainedCapacity` by a large head is let go rather than kept for the connection's life.
    static func write(
        into buffer: inout ByteBuffer,
        allocator: ByteBufferAllocator,
        capacity: Int,
        _ body: (inout HeadWriter) -> Void
    ) {
        var capacity = max(capacity, 64)
        if buffer.capacity > Self.retainedCapacity {
            buffer = allocator.buffer(capacity: capacity)
        } else {
            buffer.clear()
        }
        while true {
            var overflowed = false
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { raw in
                var writer = HeadWriter(raw)
                body(&writer)
                writer.raw("\r\n")
                overflowed = writer.overflowed
                return overflowed ? 0 : writer.count
            }
            if !overflowed { return }
            capacity = max(capacity, buffer.capacity) * 2
            buffer.clear()
        }
    }

    /// The largest head buffer a connection keeps between heads.
    static let retainedCapacity = 8192

    // MARK: Pieces

    @inline(__always)
    mutating func raw(_ text: StaticString) {
        let n = text.utf8CodeUnitCount
        guard self.count + n <= self.capacity else {
            self.overflowed = true
            return
        }
        (self.base + self.count).copyMemory(from: text.utf8Start, byteCount: n)
        self.count += n
    }

    @inline(__always)
    mutating func raw(_ text: String) {
        let n = text.utf8.count
        guard self.count + n <= self.capacity else {
            self.overflowed = true
            return
        }
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            if let source = bytes.baseAddress { (self.base + self.count).copyMemory(from: source, byteCount: n) }
        }
        if copied == nil {
            var at = self.count
            for byte in text.utf8 {
                self.base.storeBytes(of: byte, toByteOffset: at, as: UInt8.self)
                at += 1
            }
        }
        self.count += n
    }

    mutating func raw(_ text: Substring) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            self.raw(UnsafeRawBufferPointer(bytes))
        }
        if copied == nil { self.raw(String(text)) }
    }

    /// `bytes` with every byte that `keep` refuses written as `%XX` (upper-case hex).
    mutating func percentEncoded(_ bytes: ArraySlice<UInt8>, keeping keep: (UInt8) -> Bool) {
        guard self.count + 3 * bytes.count <= self.capacity else {
            self.overflowed = true
            return
        }
        var at = self.count
        for c in bytes {
            if keep(c) {
                self.base.storeBytes(of: c, toByteOffset: at, as: UInt8.self)
                at += 1
            } else {
                self.base.storeBytes(of: UInt8(ascii: "%"), toByteOffset: at, as: UInt8.self)
                self.base.storeBytes(of: Self.hexDigit(c >> 4), toByteOffset: at + 1, as: UInt8.self)
                self.base.storeBytes(of: Self.hexDigit(c & 0xf), toByteOffset: at + 2, as: UInt8.self)
                at += 3
            }
        }
        self.count = at
    }

    @inline(__always)
    static func hexDigit(_ v: UInt8) -> UInt8 {
        v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "A") + v - 10
    }

    @inline(__always)
    mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard self.count + n <= self.capacity else {
            self.overflowed = true
            return
        }
        if let source = bytes.baseAddress { (self.base + self.count).copyMemory(from: source, byteCount: n) }
        self.count += n
    }

    /// `X-Kong-Request-Id: <32 hex digits>`, the digits written in place (no string).
    mutating func requestIDHeader(_ id: RequestID) {
        self.raw("X-Kong-Request-Id: ")
        guard self.count + 34 <= self.capacity else {
            self.overflowed = true
            return
        }
        let base = self.base + self.count
        id.withHexDigits { i, digit in base.storeBytes(of: digit, toByteOffset: i, as: UInt8.self) }
        base.storeBytes(of: UInt8(ascii: "\r"), toByteOffset: 32, as: UInt8.self)
        base.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: 33, as: UInt8.self)
        self.count += 34
    }

    /// `HTTP/1.x code reason` with the reason given as bytes.
    mutating func statusLine(version: HTTPVersion, code: Int, reason: String) {
        self.raw(version.minor == 0 && version.major == 1 ? "HTTP/1.0 " : "HTTP/1.1 ")
        self.byte(UInt8(truncatingIfNeeded: 0x30 + (code / 100) % 10))
        self.byte(UInt8(truncatingIfNeeded: 0x30 + (code / 10) % 10))
        self.byte(UInt8(truncatingIfNeeded: 0x30 + code % 10))
        self.byte(UInt8(ascii: " "))
        self.raw(reason)
        self.raw("\r\n")
    }

    @inline(__always)
    mutating func byte(_ byte: UInt8) {
        guard self.count < self.capacity else {
            self.overflowed = true
            return
        }
        self.base.storeBytes(of: byte, toByteOffset: self.count, as: UInt8.self)
        self.count += 1
    }

    mutating func decimal(_ value: Int64) {
        if value < 0 {
            self.byte(UInt8(ascii: "-"))
            self.decimal(value == .min ? .max : -value)
            return
        }
        if value < 10 {
            self.byte(UInt8(truncatingIfNeeded: 0x30 + value))
            return
        }
        // Int64.max has 19 digits.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var n = 0
        var rest = UInt64(value)
        withUnsafeMutableBytes(of: &digits) { raw in
            while rest > 0 {
                raw[raw.count - 1 - n] = UInt8(truncatingIfNeeded: 0x30 + rest % 10)
                rest /= 10
                n += 1
            }
            for i in (raw.count - n)..<raw.count { self.byte(raw[i]) }
        }
    }

    // MARK: Lines

    /// `HTTP/1.x code reason`
    mutating func statusLine(version: HTTPVersion, status: HTTPResponseStatus) {
        self.statusLine(version: version, code: Int(status.code), reason: status.reasonPhrase)
    }

    /// A parsed field line copied as it came (name, colon, whitespace and value).
    mutating func fieldLine(_ field: (name: Range<Int>, value: Range<Int>), in raw: UnsafeRawBufferPointer) {
        let end = max(field.value.upperBound, field.name.upperBound + 1)
        self.raw(UnsafeRawBufferPointer(rebasing: raw[field.name.lowerBound..<end]))
        self.raw("\r\n")
    }

    mutating func header(_ name: String, _ value: String) {
        self.raw(name)
        self.raw(": ")
        self.raw(value)
        self.raw("\r\n")
    }

    mutating func header(_ name: StaticString, _ value: String) {
        self.raw(name)
        self.raw(": ")
        self.raw(value)
        self.raw("\r\n")
    }

    mutating func header(_ name: StaticString, _ value: StaticString) {
        self.raw(name)
        self.raw(": ")
        self.raw(value)
        self.raw("\r\n")
    }

    mutating func header(_ name: StaticString, _ value: Int64) {
        self.raw(name)
        self.raw(": ")
        self.decimal(value)
        self.raw("\r\n")
    }

    /// A header value from configuration or a plugin: control characters other than tab would let
    /// a value forge more header lines, so they become spaces.
    static func sanitized(_ value: String) -> String {
        let clean =
            value.utf8.withContiguousStorageIfAvailable { bytes in
                for c in bytes where (c < 0x20 && c != 0x09) || c == 0x7F { return false }
                return true
            } ?? !value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F })
        if clean { return value }
        return String(
            decoding: value.utf8.map { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F ? UInt8(ascii: " ") : $0 },
            as: UTF8.self
        )
    }
}

/// Chunked transfer coding (RFC 9112 §7.1) for bodies whose length is not known up front.
enum ChunkedFraming {
    /// `<hex size>\r\n<data>\r\n` as one buffer (copying a chunk is cheaper than three writes).
    static func chunk(_ data: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: data.readableBytes + 12)
        let hex = String(data.readableBytes, radix: 16)
        out.writeString(hex)
        out.writeStaticString("\r\n")
        var data = data
        out.writeBuffer(&data)
        out.writeStaticString("\r\n")
        return out
    }

    /// `<hex size>\r\n`, for a chunk too large to copy.
    static func prefix(_ count: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 18)
        out.writeString(String(count, radix: 16))
        out.writeStaticString("\r\n")
        return out
    }

    static func crlf(allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 2)
        out.writeStaticString("\r\n")
        return out
    }

    /// Hands `data` to `write` as one chunk: copied into one buffer when small, framed by two
    /// small buffers around it when large (a copy would cost more than the extra writes).
    static func write(_ data: ByteBuffer, allocator: ByteBufferAllocator, to write: (ByteBuffer) -> Void) {
        if data.readableBytes > 4096 {
            write(Self.prefix(data.readableBytes, allocator: allocator))
            write(data)
            write(Self.crlf(allocator: allocator))
        } else {
            write(Self.chunk(data, allocator: allocator))
        }
    }

    /// The last chunk and the end of the (empty) trailer section.
    static func terminator(allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 5)
        out.writeStaticString("0\r\n\r\n")
        return out
    }
}
