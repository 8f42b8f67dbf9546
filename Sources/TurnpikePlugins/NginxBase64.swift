/// nginx's base64 decoders (`ngx_decode_base64`, `ngx_decode_base64url`), which Kong's jwt,
/// basic-auth and hmac-auth read tokens, credentials and signatures with: decoding stops at the
/// first `=` (padding optional, anything after it ignored), a character outside the alphabet
/// fails, and so does a length that leaves one character over (`len % 4 == 1`); unused bits are
/// not checked. And the encoder hmac-auth's `Digest` is compared with.
public enum NginxBase64 {
    public enum Alphabet: Sendable {
        /// `A-Z a-z 0-9 + /`
        case standard
        /// `A-Z a-z 0-9 - _`
        case url
    }

    public static func decode(_ text: Substring, _ alphabet: Alphabet) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for c in text.utf8 {
            if c == UInt8(ascii: "=") { break }
            guard let v = Self.value(c, alphabet) else { return nil }
            values.append(v)
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var i = 0
        while i + 4 <= values.count {
            out.append(values[i] << 2 | values[i + 1] >> 4)
            out.append(values[i + 1] << 4 | values[i + 2] >> 2)
            out.append(values[i + 2] << 6 | values[i + 3])
            i += 4
        }
        let rest = values.count - i
        if rest > 1 { out.append(values[i] << 2 | values[i + 1] >> 4) }
        if rest > 2 { out.append(values[i + 1] << 4 | values[i + 2] >> 2) }
        return out
    }

    public static func decode(_ text: String, _ alphabet: Alphabet) -> [UInt8]? {
        Self.decode(Substring(text), alphabet)
    }

    /// Base64 of `bytes` (`ngx.encode_base64`: standard, padded; the admin API's page tokens:
    /// url, unpadded).
    public static func encode(_ bytes: [UInt8], _ alphabet: Alphabet = .standard, padding: Bool = true) -> String {
        let table = Array(
            (alphabet == .standard
                ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_").utf8
        )
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let a = bytes[i]
            let b = i + 1 < bytes.count ? bytes[i + 1] : 0
            let c = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(table[Int(a >> 2)])
            out.append(table[Int((a & 0x03) << 4 | b >> 4)])
            if i + 1 < bytes.count {
                out.append(table[Int((b & 0x0F) << 2 | c >> 6)])
            } else if padding {
                out.append(UInt8(ascii: "="))
            }
            if i + 2 < bytes.count {
                out.append(table[Int(c & 0x3F)])
            } else if padding {
                out.append(UInt8(ascii: "="))
            }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func value(_ c: UInt8, _ alphabet: Alphabet) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+") where alphabet == .standard, UInt8(ascii: "-") where alphabet == .url: return 62
        case UInt8(ascii: "/") where alphabet == .standard, UInt8(ascii: "_") where alphabet == .url: return 63
        default: return nil
        }
    }
}
