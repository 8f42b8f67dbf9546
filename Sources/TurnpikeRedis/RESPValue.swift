public import NIOCore

/// A RESP2 value (the Redis serialization protocol): what a Redis server replies.
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// Nil for the null bulk string (`$-1`).
    case bulkString(ByteBuffer?)
    /// Nil for the null array (`*-1`).
    case array([RESPValue]?)

    /// The value as text (simple or bulk string), if it is one.
    public var string: String? {
        switch self {
        case .simpleString(let s): return s
        case .bulkString(let b?): return String(buffer: b)
        default: return nil
        }
    }

    /// The value as an integer (an integer reply, or a bulk string holding one, as `GET` returns
    /// a counter).
    public var integer: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulkString(let b?): return Int64(String(buffer: b))
        default: return nil
        }
    }
}

/// Writes commands as RESP arrays of bulk strings (the only form a client sends).
public enum RESPEncoder {
    public static func encode(_ command: [String], into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        buffer.writeString(String(command.count))
        buffer.writeStaticString("\r\n")
        for part in command {
            buffer.writeStaticString("$")
            buffer.writeString(String(part.utf8.count))
            buffer.writeStaticString("\r\n")
            buffer.writeString(part)
            buffer.writeStaticString("\r\n")
        }
    }
}
