/// A structural check of route regexes against the dialect Kong's router accepts (Rust `regex`
/// semantics: no look-around, no back-references). The router compiles each regex for real when
/// the snapshot is built; this catches the mistakes that make a file invalid for Kong too.
public enum RegexDialect {
    public static func check(_ regex: String) -> String? {
        let bytes = Array(regex.utf8)
        var depth = 0
        var inClass = false
        var i = 0
        func fail(_ detail: String) -> String {
            "invalid regex: '\(Record.printable(regex))' (\(detail))"
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count else { return fail("\\ at end of pattern") }
                let n = bytes[i + 1]
                if !inClass, n >= UInt8(ascii: "1"), n <= UInt8(ascii: "9") {
                    return fail("back-references are not supported")
                }
                if n == UInt8(ascii: "k"), i + 2 < bytes.count,
                    bytes[i + 2] == UInt8(ascii: "<") || bytes[i + 2] == UInt8(ascii: "{")
                {
                    return fail("back-references are not supported")
                }
                i += 2
                continue
            }
            if inClass {
                if c == UInt8(ascii: "]") { inClass = false }
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: "["):
                inClass = true
                // A `]` right after `[` or `[^` is a literal.
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "^") { i += 1 }
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "]") { i += 1 }
            case UInt8(ascii: "("):
                if i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "?") {
                    let k = bytes[i + 2]
                    if k == UInt8(ascii: "=") || k == UInt8(ascii: "!") {
                        return fail("look-around is not supported")
                    }
                    if k == UInt8(ascii: "<"), i + 3 < bytes.count,
                        bytes[i + 3] == UInt8(ascii: "=") || bytes[i + 3] == UInt8(ascii: "!")
                    {
                        return fail("look-around is not supported")
                    }
                }
                depth += 1
            case UInt8(ascii: ")"):
                if depth == 0 { return fail("unmatched closing parenthesis") }
                depth -= 1
            default:
                break
            }
            i += 1
        }
        if inClass { return fail("missing terminating ] for character class") }
        if depth > 0 { return fail("missing closing parenthesis") }
        return nil
    }
}
