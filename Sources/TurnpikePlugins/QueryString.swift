/// Query-string arguments as Kong (ngx.req.get_uri_args) reads them.
public enum QueryString {
    /// Arguments grouped by name, in first-seen order, each with its values in order (nil: an
    /// argument without `=`); arguments with an empty name are skipped, as nginx skips them.
    public static func grouped(_ query: Substring?) -> [(name: String, values: [String?])] {
        guard let query, !query.isEmpty else { return [] }
        return Self.group(Self.arguments(query).filter { !$0.0.isEmpty })
    }

    /// `(name, value)` pairs grouped by name, in first-seen order, each with its values in order
    /// (the shape of a Lua table of arguments, headers or fields).
    public static func group(_ pairs: [(String, String?)]) -> [(name: String, values: [String?])] {
        var out: [(name: String, values: [String?])] = []
        for (name, value) in pairs {
            if let i = out.firstIndex(where: { $0.name == name }) {
                out[i].values.append(value)
            } else {
                out.append((name, [value]))
            }
        }
        return out
    }

    /// Decoded `(name, value)` pairs in order; the value is nil for an argument without `=`.
    public static func arguments(_ query: Substring) -> [(String, String?)] {
        query.split(separator: "&").map { part in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(kv[0]), kv.count == 2 ? decode(kv[1]) : nil)
        }
    }

    /// Kong's `clear_query_arg` (kong/pdk/service/request.lua): the query is read as WHATWG
    /// URLSearchParams (empty pairs skipped, `+` as space, percent-decoded), every pair called
    /// `name` is dropped, and the rest is written back in order as the URLSearchParams serializer
    /// does (only `A-Za-z0-9*-._` bare, a pair without `=` gains one), with `%20` for spaces.
    public static func clearingArgument(_ name: String, from query: Substring) -> String {
        let target = Array(name.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(query.utf8.count)
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let key = Self.formDecoded(pair[..<(equals ?? pair.endIndex)])
            if key == target { continue }
            let value = equals.map { Self.formDecoded(pair[pair.index(after: $0)...]) } ?? []
            if !out.isEmpty { out.append(UInt8(ascii: "&")) }
            Self.formEncode(key, into: &out)
            out.append(UInt8(ascii: "="))
            Self.formEncode(value, into: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The form-urlencoded reading of one name or value: `+` as space, valid `%XX` decoded,
    /// anything else kept as it is.
    static func formDecoded(_ bytes: Substring.UTF8View.SubSequence) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if c == UInt8(ascii: "%"), bytes.distance(from: i, to: bytes.endIndex) >= 3,
                let high = Self.hexValue(bytes[bytes.index(i, offsetBy: 1)]),
                let low = Self.hexValue(bytes[bytes.index(i, offsetBy: 2)])
            {
                out.append(high << 4 | low)
                i = bytes.index(i, offsetBy: 3)
                continue
            } else {
                out.append(c)
            }
            i = bytes.index(after: i)
        }
        return out
    }

    /// The URLSearchParams serializer's byte set, with Kong's `+` -> `%20` applied to spaces.
    static func formEncode(_ bytes: [UInt8], into out: inout [UInt8]) {
        let hex: StaticString = "0123456789ABCDEF"
        for c in bytes {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"):
                out.append(c)
            default:
                out.append(UInt8(ascii: "%"))
                hex.withUTF8Buffer { digits in
                    out.append(digits[Int(c >> 4)])
                    out.append(digits[Int(c & 0x0F)])
                }
            }
        }
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Percent-decoding with `+` as space.
    public static func decode(_ s: Substring) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(s) }
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let c = bytes.popFirst() {
            if c == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if c == UInt8(ascii: "%"), bytes.count >= 2,
                let high = Self.hexValue(bytes[bytes.startIndex]),
                let low = Self.hexValue(bytes[bytes.startIndex + 1])
            {
                // Two hex digits only (a sign is not a digit, as `UInt8(_:radix:)` would take it).
                out.append(high << 4 | low)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `ngx.encode_args`: `name=value` pairs joined with `&`, a name without value alone, repeated
    /// values as repeated names; names and values escaped as `ngx.escape_uri` does (all but
    /// `A-Za-z0-9-._~`).
    public static func encodeArgs(_ args: [(name: String, values: [String?])]) -> String {
        var out: [UInt8] = []
        func escape(_ s: String) {
            let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
            for c in s.utf8 {
                let safe =
                    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D
                    || c == 0x2E || c == 0x5F || c == 0x7E
                if safe {
                    out.append(c)
                } else {
                    out += [UInt8(ascii: "%"), hex[Int(c >> 4)], hex[Int(c & 0x0F)]]
                }
            }
        }
        for (name, values) in args {
            for value in values {
                if !out.isEmpty { out.append(UInt8(ascii: "&")) }
                escape(name)
                if let value {
                    out.append(UInt8(ascii: "="))
                    escape(value)
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
