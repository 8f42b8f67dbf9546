public import TurnpikeModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// JSON as Kong's plugins write it with lua-cjson's defaults: compact, `/` escaped as `\/`,
/// control characters escaped (DEL as `\u007f`), other bytes as they are, numbers as C's
/// `%.14g` (whole doubles without `.0`), objects in the order given.
public enum CJSON {
    public static func encode(_ value: Rendered) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        Self.write(value, into: &out)
        return out
    }

    public static func write(_ value: Rendered, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .integer(let n): out.append(contentsOf: String(n).utf8)
        case .number(let d): out.append(contentsOf: Self.number(d).utf8)
        case .string(let s): Self.string(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            for (i, field) in fields.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.string(field.0, into: &out)
                out.append(UInt8(ascii: ":"))
                Self.write(field.1, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string as cjson writes it: runs of bytes that need no escape are copied whole.
    public static func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var run = 0
            for i in 0..<bytes.count {
                let c = bytes[i]
                guard Self.needsEscape(c) else { continue }
                if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i])) }
                run = i + 1
                out.append(UInt8(ascii: "\\"))
                switch c {
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(c)
                default:
                    out.append(UInt8(ascii: "u"))
                    out.append(UInt8(ascii: "0"))
                    out.append(UInt8(ascii: "0"))
                    out.append(Self.hex[Int(c >> 4)])
                    out.append(Self.hex[Int(c & 0xF)])
                }
            }
            if run < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always)
    static func needsEscape(_ c: UInt8) -> Bool {
        c < 0x20 || c == 0x7F || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c == UInt8(ascii: "/")
    }

    static let hex = Array("0123456789abcdef".utf8)

    /// C's `%.14g` (lua-cjson's default number format); `inf`/`nan` as cjson refuses to write
    /// them are written as `null` here.
    public static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        var buffer = [CChar](repeating: 0, count: 32)
        _ = withVaList([d]) { vsnprintf(&buffer, buffer.count, "%.14g", $0) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
