/// The top-level fields of a request body, read as Kong's `kong.request.get_body()` reads them
/// (kong/pdk/request.lua, `get_body`): `application/x-www-form-urlencoded`, `application/json` (an object) and
/// `multipart/form-data`, the media type matched by prefix, case-insensitively. Anything else,
/// or a body that does not parse, has no fields (never an error).
///
/// Each field keeps the byte range it occupies, so a field can be cut out of the body without
/// re-encoding the rest (`removing`).
public struct BodyFields: Sendable {
    public enum Value: Sendable, Equatable {
        /// A single text value: a form value, a JSON string, a multipart part.
        case text(String)
        /// Something with no text: a form name without `=`, a JSON number, boolean or null.
        case noText
        /// A JSON array or object: Kong treats it as several values.
        case several
    }

    struct Field {
        var name: String
        var value: Value
        /// The bytes to drop to remove the field, separators included.
        var range: Range<Int>
    }

    enum Kind {
        case form
        case json
        case multipart
    }

    let kind: Kind
    let fields: [Field]

    /// Parses `body` by its content type; nil when the type is not one of the three or the body
    /// does not parse.
    public static func parse(_ body: [UInt8], contentType: String?) -> BodyFields? {
        guard let contentType else { return nil }
        let lower = contentType.lowercased()
        if lower.hasPrefix("application/x-www-form-urlencoded") {
            return BodyFields(kind: .form, fields: Self.formFields(body))
        }
        if lower.hasPrefix("application/json") {
            return JSONFields.parse(body).map { BodyFields(kind: .json, fields: $0) }
        }
        if lower.hasPrefix("multipart/form-data") {
            guard let boundary = Self.boundary(contentType) else { return nil }
            return Self.multipartFields(body, boundary: boundary).map { BodyFields(kind: .multipart, fields: $0) }
        }
        return nil
    }

    /// The value of field `name` (exact, case-sensitive); `.several` when it is repeated.
    public func value(named name: String) -> Value? {
        var found: Value?
        for field in self.fields where field.name == name {
            if found != nil { return .several }
            found = field.value
        }
        return found
    }

    /// The body without any field called `name`, other bytes unchanged.
    public func removing(_ name: String, from body: [UInt8]) -> [UInt8] {
        let cut = self.fields.filter { $0.name == name }.map(\.range)
        guard !cut.isEmpty else { return body }
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var at = 0
        for range in cut.sorted(by: { $0.lowerBound < $1.lowerBound }) where range.lowerBound >= at {
            out += body[at..<range.lowerBound]
            at = range.upperBound
        }
        out += body[at...]
        if self.kind == .form {
            // A field cut from the end leaves its `&` behind.
            while out.last == UInt8(ascii: "&") { out.removeLast() }
        }
        return out
    }

    // MARK: - Forms

    static func formFields(_ body: [UInt8]) -> [Field] {
        var fields: [Field] = []
        var start = 0
        while start <= body.count {
            var end = start
            while end < body.count && body[end] != UInt8(ascii: "&") { end += 1 }
            if end > start {
                let part = body[start..<end]
                // The field's range takes its following `&`, so cutting it leaves the rest well formed.
                let range = start..<min(end + 1, body.count)
                if let eq = part.firstIndex(of: UInt8(ascii: "=")) {
                    let name = QueryString.decode(Substring(decoding: body[start..<eq], as: UTF8.self))
                    let value = QueryString.decode(Substring(decoding: body[(eq + 1)..<end], as: UTF8.self))
                    fields.append(Field(name: name, value: .text(value), range: range))
                } else {
                    let name = QueryString.decode(Substring(decoding: part, as: UTF8.self))
                    fields.append(Field(name: name, value: .noText, range: range))
                }
            }
            start = end + 1
        }
        return fields
    }

    // MARK: - Multipart

    /// The `boundary` parameter of a multipart content type, unquoted.
    static func boundary(_ contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let kv = parameter.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingCharacters(in: " \t").lowercased() == "boundary" else { continue }
            var value = kv[1].trimmingCharacters(in: " \t")
            if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 {
                value = value.dropFirst().dropLast()
            }
            return value.isEmpty || value.utf8.count > 200 ? nil : String(value)
        }
        return nil
    }

    static func multipartFields(_ body: [UInt8], boundary: String) -> [Field]? {
        let delimiter = Array("--\(boundary)".utf8)
        var marks: [Int] = []
        var i = 0
        while let at = Self.find(delimiter, in: body, from: i) {
            marks.append(at)
            i = at + delimiter.count
        }
        guard marks.count >= 2 else { return nil }
        var fields: [Field] = []
        for (n, mark) in marks.dropLast().enumerated() {
            let next = marks[n + 1]
            var start = mark + delimiter.count
            // The delimiter line ends with CRLF (or LF).
            guard let lineEnd = body[start..<next].firstIndex(of: UInt8(ascii: "\n")) else { continue }
            start = lineEnd + 1
            // The part ends at the CRLF before the next delimiter.
            var end = next
            if end > start && body[end - 1] == UInt8(ascii: "\n") { end -= 1 }
            if end > start && body[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            // The value starts after the blank line, which must end before the part does.
            guard let headersEnd = Self.find(Array("\r\n\r\n".utf8), in: body, from: start), headersEnd + 4 <= end
            else {
                continue
            }
            let headers = String(decoding: body[start..<headersEnd], as: UTF8.self)
            guard let name = Self.dispositionName(headers) else { continue }
            let value = String(decoding: body[(headersEnd + 4)..<end], as: UTF8.self)
            // Removing the part removes it with its delimiter line.
            fields.append(Field(name: name, value: .text(value), range: mark..<next))
        }
        return fields
    }

    /// `name="…"` of a part's `Content-Disposition: form-data` header.
    static func dispositionName(_ headers: String) -> String? {
        for line in headers.split(separator: "\r\n") {
            let kv = line.split(separator: ":", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingCharacters(in: " \t").lowercased() == "content-disposition" else {
                continue
            }
            for parameter in kv[1].split(separator: ";").dropFirst() {
                let pv = parameter.split(separator: "=", maxSplits: 1)
                guard pv.count == 2, pv[0].trimmingCharacters(in: " \t").lowercased() == "name" else { continue }
                var value = pv[1].trimmingCharacters(in: " \t")
                if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 {
                    value = value.dropFirst().dropLast()
                }
                return String(value)
            }
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var i = from
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

/// The members of a top-level JSON object (RFC 8259), validated in full; nested values are only
/// checked and classified. Depth is bounded, so a hostile body cannot exhaust the stack.
enum JSONFields {
    static let maxDepth = 128

    static func parse(_ bytes: [UInt8]) -> [BodyFields.Field]? {
        var p = Parser(bytes: bytes)
        p.skipSpace()
        guard p.peek == UInt8(ascii: "{") else {
            // Valid JSON that is not an object has no fields; invalid JSON is no body either.
            return nil
        }
        var fields: [BodyFields.Field] = []
        p.i += 1
        p.skipSpace()
        if p.peek == UInt8(ascii: "}") {
            p.i += 1
            return p.atEndAfterSpace() ? [] : nil
        }
        // Where the previous member's cut ended: removing a member takes the comma before it
        // (or after it, for the first member).
        var memberStarts: [(start: Int, end: Int)] = []
        while true {
            p.skipSpace()
            let start = p.i
            guard p.peek == UInt8(ascii: "\""), let name = p.string() else { return nil }
            p.skipSpace()
            guard p.peek == UInt8(ascii: ":") else { return nil }
            p.i += 1
            p.skipSpace()
            guard let value = p.value(depth: 1) else { return nil }
            let end = p.i
            memberStarts.append((start, end))
            fields.append(BodyFields.Field(name: name, value: value, range: start..<end))
            p.skipSpace()
            if p.peek == UInt8(ascii: ",") {
                p.i += 1
                continue
            }
            guard p.peek == UInt8(ascii: "}") else { return nil }
            p.i += 1
            break
        }
        guard p.atEndAfterSpace() else { return nil }
        // Widen each member's range to take one comma with it, so the rest stays valid JSON.
        for n in fields.indices {
            if n + 1 < fields.count {
                fields[n].range = memberStarts[n].start..<memberStarts[n + 1].start
            } else if n > 0 {
                fields[n].range = memberStarts[n - 1].end..<memberStarts[n].end
            }
        }
        // Two neighbours both cut would overlap; `removing` skips overlaps, which is safe but
        // may leave one duplicate behind: a duplicate name is already rejected before hiding.
        return fields
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        var peek: UInt8? { self.i < self.bytes.count ? self.bytes[self.i] : nil }

        mutating func skipSpace() {
            while let c = self.peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { self.i += 1 }
        }

        mutating func atEndAfterSpace() -> Bool {
            self.skipSpace()
            return self.i == self.bytes.count
        }

        mutating func value(depth: Int) -> BodyFields.Value? {
            guard depth <= JSONFields.maxDepth, let c = self.peek else { return nil }
            switch c {
            case UInt8(ascii: "\""):
                return self.string().map { .text($0) }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                return self.container(depth: depth) ? .several : nil
            case UInt8(ascii: "t"):
                return self.literal("true") ? .noText : nil
            case UInt8(ascii: "f"):
                return self.literal("false") ? .noText : nil
            case UInt8(ascii: "n"):
                return self.literal("null") ? .noText : nil
            default:
                return self.number() ? .noText : nil
            }
        }

        mutating func container(depth: Int) -> Bool {
            let close = self.bytes[self.i] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            self.i += 1
            self.skipSpace()
            if self.peek == close {
                self.i += 1
                return true
            }
            while true {
                self.skipSpace()
                if isObject {
                    guard self.peek == UInt8(ascii: "\""), self.string() != nil else { return false }
                    self.skipSpace()
                    guard self.peek == UInt8(ascii: ":") else { return false }
                    self.i += 1
                    self.skipSpace()
                }
                guard self.value(depth: depth + 1) != nil else { return false }
                self.skipSpace()
                if self.peek == UInt8(ascii: ",") {
                    self.i += 1
                    continue
                }
                guard self.peek == close else { return false }
                self.i += 1
                return true
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard self.i + n <= self.bytes.count else { return false }
            let matches = word.withUTF8Buffer { self.bytes[self.i..<(self.i + n)].elementsEqual($0) }
            if matches { self.i += n }
            return matches
        }

        mutating func number() -> Bool {
            let start = self.i
            if self.peek == UInt8(ascii: "-") { self.i += 1 }
            guard let first = self.peek, first >= 0x30 && first <= 0x39 else { return false }
            if first == 0x30 {
                self.i += 1
            } else {
                while let c = self.peek, c >= 0x30 && c <= 0x39 { self.i += 1 }
            }
            if self.peek == UInt8(ascii: ".") {
                self.i += 1
                guard let c = self.peek, c >= 0x30 && c <= 0x39 else { return false }
                while let c = self.peek, c >= 0x30 && c <= 0x39 { self.i += 1 }
            }
            if let e = self.peek, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                self.i += 1
                if let s = self.peek, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { self.i += 1 }
                guard let c = self.peek, c >= 0x30 && c <= 0x39 else { return false }
                while let c = self.peek, c >= 0x30 && c <= 0x39 { self.i += 1 }
            }
            return self.i > start
        }

        /// A string at `i` (which is `"`), decoded; nil when malformed.
        mutating func string() -> String? {
            self.i += 1
            var out: [UInt8] = []
            while let c = self.peek {
                self.i += 1
                switch c {
                case UInt8(ascii: "\""):
                    return String(validating: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let e = self.peek else { return nil }
                    self.i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var scalar = self.hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(scalar) {
                            // A high surrogate must be followed by an escaped low one.
                            guard self.peek == UInt8(ascii: "\\"), self.i + 1 < self.bytes.count,
                                self.bytes[self.i + 1] == UInt8(ascii: "u")
                            else { return nil }
                            self.i += 2
                            guard let low = self.hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            return nil
                        }
                        guard let u = Unicode.Scalar(scalar) else { return nil }
                        out += Array(String(Character(u)).utf8)
                    default:
                        return nil
                    }
                default:
                    if c < 0x20 { return nil }
                    out.append(c)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard self.i + 4 <= self.bytes.count else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = self.bytes[self.i]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: return nil
                }
                v = v << 4 | d
                self.i += 1
            }
            return v
        }
    }
}
