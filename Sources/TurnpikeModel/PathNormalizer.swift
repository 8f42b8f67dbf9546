/// Kong's request-path normalisation (kong/tools/uri.lua, `normalize`): decode `%XX` except for reserved
/// characters (whose escapes are upper-cased and kept), remove dot segments, collapse `//`.
///
/// Used to check that route prefix paths are already normal, and by the router on every request.
public enum PathNormalizer {
    /// Characters whose `%XX` escapes Kong keeps: `! * ' ( ) ; : @ & = + $ , / ? % # [ ]`.
    static func isReserved(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "!"), UInt8(ascii: "*"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
            UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "&"), UInt8(ascii: "="),
            UInt8(ascii: "+"), UInt8(ascii: "$"), UInt8(ascii: ","), UInt8(ascii: "/"), UInt8(ascii: "?"),
            UInt8(ascii: "%"), UInt8(ascii: "#"), UInt8(ascii: "["), UInt8(ascii: "]"):
            return true
        default:
            return false
        }
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - 0x30
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - 0x61 + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - 0x41 + 10
        default: return nil
        }
    }

    /// Returns the normalised form of `path` (bytes in, bytes out).
    public static func normalize(_ path: [UInt8]) -> [UInt8] {
        // Fast path, the common case on every request: an absolute path with no escapes, no dot
        // segments and no repeated slashes is already normal.
        if path.first == UInt8(ascii: "/") {
            var clean = true
            var previous: UInt8 = 0
            for c in path {
                if c == UInt8(ascii: "%")
                    || (previous == UInt8(ascii: "/") && (c == UInt8(ascii: "/") || c == UInt8(ascii: ".")))
                {
                    clean = false
                    break
                }
                previous = c
            }
            if clean { return path }
        }
        let hex = Array("0123456789ABCDEF".utf8)
        // 1. Percent-decoding of unreserved escapes.
        var decoded: [UInt8] = []
        decoded.reserveCapacity(path.count)
        var i = 0
        while i < path.count {
            let c = path[i]
            if c == UInt8(ascii: "%"), i + 2 < path.count, let h = hexValue(path[i + 1]), let l = hexValue(path[i + 2])
            {
                let v = h << 4 | l
                if isReserved(v) {
                    decoded.append(UInt8(ascii: "%"))
                    decoded.append(hex[Int(h)])
                    decoded.append(hex[Int(l)])
                } else {
                    decoded.append(v)
                }
                i += 3
                continue
            }
            decoded.append(c)
            i += 1
        }
        // 2. Dot segments and repeated slashes, segment by segment (RFC 3986 §5.2.4 with `//` collapsed).
        var segments: [ArraySlice<UInt8>] = []
        let absolute = decoded.first == UInt8(ascii: "/")
        var trailingSlash = false
        let parts = decoded.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for (index, part) in parts.enumerated() {
            let isLast = index == parts.count - 1
            if part.isEmpty {
                if isLast && index > 0 { trailingSlash = true }
                continue
            }
            if part.elementsEqual([UInt8(ascii: ".")]) {
                if isLast { trailingSlash = true }
                continue
            }
            if part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if !segments.isEmpty { segments.removeLast() }
                if isLast { trailingSlash = true }
                continue
            }
            segments.append(part)
            trailingSlash = false
        }
        var out: [UInt8] = []
        out.reserveCapacity(decoded.count)
        if absolute || segments.isEmpty { out.append(UInt8(ascii: "/")) }
        for (index, segment) in segments.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "/")) }
            out.append(contentsOf: segment)
        }
        if trailingSlash && !segments.isEmpty { out.append(UInt8(ascii: "/")) }
        return out
    }

    public static func normalize(_ path: String) -> String {
        String(decoding: normalize(Array(path.utf8)), as: UTF8.self)
    }
}
