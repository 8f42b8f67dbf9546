public import NIOCore

/// Reads RESP2 replies from a byte stream, one complete value at a time. Everything a server sends
/// is bounded: line length, bulk string length, array size and nesting depth; a reply past a
/// bound, or bytes that are not RESP, is an error (the connection is then closed by its owner).
public struct RESPDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPValue

    public struct Limits: Sendable {
        public var maxLineBytes = 64 * 1024
        public var maxBulkBytes = 16 * 1024 * 1024
        public var maxArrayElements = 1024 * 1024
        public var maxDepth = 16

        public init() {}
    }

    public enum Failure: Error, Equatable {
        case unknownType(UInt8)
        case lineTooLong
        case invalidInteger
        case invalidLength
        case tooLarge
        case tooDeep
        case missingCRLF
    }

    public let limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        var copy = buffer
        guard let value = try self.parse(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        try self.decode(buffer: &buffer)
    }

    /// One value from the front of `buffer`, consumed; nil (nothing consumed by the caller's copy
    /// being dropped) when the bytes for a whole value have not all arrived.
    func parse(_ buffer: inout ByteBuffer, depth: Int) throws -> RESPValue? {
        guard depth < self.limits.maxDepth else { throw Failure.tooDeep }
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard let line = try self.line(&buffer) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            return .simpleString(line)
        case UInt8(ascii: "-"):
            return .error(line)
        case UInt8(ascii: ":"):
            guard let value = Int64(line) else { throw Failure.invalidInteger }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = Int(line), length >= -1 else { throw Failure.invalidLength }
            if length == -1 { return .bulkString(nil) }
            guard length <= self.limits.maxBulkBytes else { throw Failure.tooLarge }
            guard buffer.readableBytes >= length + 2 else { return nil }
            let bytes = buffer.readSlice(length: length)!
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw Failure.missingCRLF }
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            guard let count = Int(line), count >= -1 else { throw Failure.invalidLength }
            if count == -1 { return .array(nil) }
            guard count <= self.limits.maxArrayElements else { throw Failure.tooLarge }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let element = try self.parse(&buffer, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw Failure.unknownType(type)
        }
    }

    /// The rest of the line after the type byte, without its CRLF; nil while incomplete.
    private func line(_ buffer: inout ByteBuffer) throws -> String? {
        let view = buffer.readableBytesView
        let searched = view.prefix(self.limits.maxLineBytes + 2)
        guard let cr = searched.firstIndex(of: 0x0D) else {
            if view.count > self.limits.maxLineBytes + 1 { throw Failure.lineTooLong }
            return nil
        }
        guard cr + 1 < view.endIndex else { return nil }
        guard view[cr + 1] == 0x0A else { throw Failure.missingCRLF }
        let start = buffer.readerIndex
        let text = buffer.getString(at: start + 1, length: cr - view.startIndex - 1) ?? ""
        buffer.moveReaderIndex(to: start + (cr - view.startIndex) + 2)
        return text
    }
}
