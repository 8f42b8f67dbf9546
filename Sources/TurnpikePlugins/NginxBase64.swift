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
        var text = text
        return text.withUTF8 { Self.decode($0, alphabet) }
    }

    public static func decode(_ text: String, _ alphabet: Alphabet) -> [UInt8]? {
        var text = text
        return text.withUTF8 { Self.decode($0, alphabet) }
    }

    public static func decode(_ bytes: ArraySlice<UInt8>, _ alphabet: Alphabet) -> [UInt8]? {
        bytes.withUnsafeBufferPointer { Self.decode($0, alphabet) }
    }

    static func decode(_ text: UnsafeBufferPointer<UInt8>, _ alphabet: Alphabet) -> [UInt8]? {
        let table = alphabet == .standard ? Self.standardValues : Self.urlValues
        var count = 0
        while count < text.count, text[count] != UInt8(ascii: "=") {
            guard table[Int(text[count])] != 0xFF else { return nil }
            count += 1
        }
        guard count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count * 3 / 4)
        var i = 0
        while i + 4 <= count {
            let a = table[Int(text[i])]
            let b = table[Int(text[i + 1])]
            let c = table[Int(text[i + 2])]
            let d = table[Int(text[i + 3])]
            out.append(a << 2 | b >> 4)
            out.append(b << 4 | c >> 2)
            out.append(c << 6 | d)
            i += 4
        }
        let rest = count - i
        if rest > 1 { out.append(table[Int(text[i])] << 2 | table[Int(text[i + 1])] >> 4) }
        if rest > 2 { out.append(table[Int(text[i + 1])] << 4 | table[Int(text[i + 2])] >> 2) }
        return out
    }

    static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// Each byte's value in the alphabet (0xFF: not in it).
    static let standardValues = Self.values(Self.standardAlphabet)
    static let urlValues = Self.values(Self.urlAlphabet)

    static func values(_ alphabet: [UInt8]) -> [UInt8] {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }

    /// Base64 of `bytes` (`ngx.encode_base64`: standard, padded; the admin API's page tokens:
    /// url, unpadded).
    public static func encode(_ bytes: [UInt8], _ alphabet: Alphabet = .standard, padding: Bool = true) -> String {
        let table = alphabet == .standard ? Self.standardAlphabet : Self.urlAlphabet
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
}
