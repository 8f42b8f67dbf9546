import NIOCore
import NIOHTTP1

/// Writes an HTTP/1.x head straight into bytes: the proxy sends heads it builds itself instead of
/// going through NIO's encoders (no `HTTPHeaders` built only to be serialized, no extra pipeline
/// hop). Names and values come from NIO's parser (already valid) or from the gateway; values that
/// come from configuration go through `sanitized` first.
struct HeadWriter {
    private(set) var buffer: ByteBuffer

    init(allocator: ByteBufferAllocator, capacity: Int) {
        self.buffer = allocator.buffer(capacity: capacity)
    }

    /// `METHOD uri HTTP/1.1`
    mutating func requestLine(method: HTTPMethod, uri: String) {
        self.buffer.writeString(method.rawValue)
        self.buffer.writeInteger(UInt8(ascii: " "))
        self.buffer.writeString(uri)
        self.buffer.writeStaticString(" HTTP/1.1\r\n")
    }

    /// `HTTP/1.x code reason`
    mutating func statusLine(version: HTTPVersion, status: HTTPResponseStatus) {
        self.buffer.writeStaticString(version.minor == 0 && version.major == 1 ? "HTTP/1.0 " : "HTTP/1.1 ")
        let code = status.code
        self.buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + (code / 100) % 10))
        self.buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + (code / 10) % 10))
        self.buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + code % 10))
        self.buffer.writeInteger(UInt8(ascii: " "))
        self.buffer.writeString(status.reasonPhrase)
        self.buffer.writeStaticString("\r\n")
    }

    mutating func header(_ name: String, _ value: String) {
        self.buffer.writeString(name)
        self.buffer.writeStaticString(": ")
        self.buffer.writeString(value)
        self.buffer.writeStaticString("\r\n")
    }

    mutating func header(_ name: StaticString, _ value: String) {
        self.buffer.writeStaticString(name)
        self.buffer.writeStaticString(": ")
        self.buffer.writeString(value)
        self.buffer.writeStaticString("\r\n")
    }

    mutating func header(_ name: StaticString, _ value: StaticString) {
        self.buffer.writeStaticString(name)
        self.buffer.writeStaticString(": ")
        self.buffer.writeStaticString(value)
        self.buffer.writeStaticString("\r\n")
    }

    mutating func header(_ name: StaticString, _ value: Int64) {
        self.buffer.writeStaticString(name)
        self.buffer.writeStaticString(": ")
        Self.writeDecimal(value, into: &self.buffer)
        self.buffer.writeStaticString("\r\n")
    }

    /// Ends the head (the empty line) and returns its bytes.
    mutating func finish() -> ByteBuffer {
        self.buffer.writeStaticString("\r\n")
        return self.buffer
    }

    static func writeDecimal(_ value: Int64, into buffer: inout ByteBuffer) {
        if value < 0 {
            buffer.writeInteger(UInt8(ascii: "-"))
            Self.writeDecimal(value == .min ? .max : -value, into: &buffer)
            return
        }
        if value < 10 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + value))
            return
        }
        // Int64.max has 19 digits.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        var rest = UInt64(value)
        withUnsafeMutableBytes(of: &digits) { raw in
            while rest > 0 {
                raw[raw.count - 1 - count] = UInt8(truncatingIfNeeded: 0x30 + rest % 10)
                rest /= 10
                count += 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(raw.count - count)...]))
        }
    }

    /// A header value from configuration or a plugin: control characters other than tab would let
    /// a value forge more header lines, so they become spaces.
    static func sanitized(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) else { return value }
        return String(decoding: value.utf8.map { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
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

    /// The last chunk and the end of the (empty) trailer section.
    static func terminator(allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 5)
        out.writeStaticString("0\r\n\r\n")
        return out
    }
}
