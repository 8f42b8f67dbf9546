import TurnpikeModel

/// A whole JSON document as `Rendered` (objects keep their order, numbers without a fraction or
/// exponent as integers), nesting bounded: request-termination's echo, the transformers, jwt.
struct JSONDocument {
    let bytes: [UInt8]
    var i = 0
    let maxDepth: Int

    /// `maxDepth`: nesting allowed (cjson's default is 1000).
    init(bytes: [UInt8], maxDepth: Int = 64) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func document() -> Rendered? {
        guard let value = self.value(depth: 0) else { return nil }
        self.space()
        return self.i == self.bytes.count ? value : nil
    }

    mutating func space() {
        while self.i < self.bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(self.bytes[self.i]) { self.i += 1 }
    }

    mutating func value(depth: Int) -> Rendered? {
        guard depth < self.maxDepth else { return nil }
        self.space()
        guard self.i < self.bytes.count else { return nil }
        switch self.bytes[self.i] {
        case UInt8(ascii: "{"):
            self.i += 1
            var fields: [(String, Rendered)] = []
            self.space()
            if self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "}") {
                self.i += 1
                return .object(fields)
            }
            while true {
                self.space()
                guard let key = self.string() else { return nil }
                self.space()
                guard self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: ":") else { return nil }
                self.i += 1
                guard let v = self.value(depth: depth + 1) else { return nil }
                fields.append((key, v))
                self.space()
                guard self.i < self.bytes.count else { return nil }
                if self.bytes[self.i] == UInt8(ascii: ",") {
                    self.i += 1
                } else if self.bytes[self.i] == UInt8(ascii: "}") {
                    self.i += 1
                    return .object(fields)
                } else {
                    return nil
                }
            }
        case UInt8(ascii: "["):
            self.i += 1
            var items: [Rendered] = []
            self.space()
            if self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "]") {
                self.i += 1
                return .array(items)
            }
            while true {
                guard let v = self.value(depth: depth + 1) else { return nil }
                items.append(v)
                self.space()
                guard self.i < self.bytes.count else { return nil }
                if self.bytes[self.i] == UInt8(ascii: ",") {
                    self.i += 1
                } else if self.bytes[self.i] == UInt8(ascii: "]") {
                    self.i += 1
                    return .array(items)
                } else {
                    return nil
                }
            }
        case UInt8(ascii: "\""):
            return self.string().map(Rendered.string)
        case UInt8(ascii: "t"):
            return self.literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"):
            return self.literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"):
            return self.literal("null") ? .null : nil
        default:
            return self.number()
        }
    }

    mutating func literal(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard self.i + w.count <= self.bytes.count, Array(self.bytes[self.i..<(self.i + w.count)]) == w else {
            return false
        }
        self.i += w.count
        return true
    }

    mutating func number() -> Rendered? {
        let start = self.i
        while self.i < self.bytes.count, "+-0123456789.eE".utf8.contains(self.bytes[self.i]) { self.i += 1 }
        let text = String(decoding: self.bytes[start..<self.i], as: UTF8.self)
        if let n = Int(text) { return .integer(n) }
        return Double(text).map(Rendered.number)
    }

    mutating func string() -> String? {
        guard self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "\"") else { return nil }
        self.i += 1
        var out: [UInt8] = []
        while self.i < self.bytes.count {
            let c = self.bytes[self.i]
            self.i += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard self.i < self.bytes.count else { return nil }
                let e = self.bytes[self.i]
                self.i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard self.i + 4 <= self.bytes.count,
                        let v = UInt32(String(decoding: self.bytes[self.i..<(self.i + 4)], as: UTF8.self), radix: 16)
                    else { return nil }
                    self.i += 4
                    // A lone surrogate becomes U+FFFD (pairs are joined below when present).
                    var scalar = Unicode.Scalar(v)
                    if (0xD800..<0xDC00).contains(v), self.i + 6 <= self.bytes.count,
                        self.bytes[self.i] == UInt8(ascii: "\\"), self.bytes[self.i + 1] == UInt8(ascii: "u"),
                        let low = UInt32(
                            String(decoding: self.bytes[(self.i + 2)..<(self.i + 6)], as: UTF8.self),
                            radix: 16
                        ), (0xDC00..<0xE000).contains(low)
                    {
                        self.i += 6
                        scalar = Unicode.Scalar(0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00))
                    }
                    out += Array(String(Character(scalar ?? "\u{FFFD}")).utf8)
                default: out.append(e)
                }
            default:
                out.append(c)
            }
        }
        return nil
    }
}
