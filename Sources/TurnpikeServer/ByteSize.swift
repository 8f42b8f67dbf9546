/// A size as nginx writes it (`lua_shared_dict kong_db_cache 128m`): bytes, or a number with
/// `k`, `m` or `g` (either case), optionally followed by `b`/`ib` (`128MiB`).
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        var s = Substring(text.lowercased())
        if s.hasSuffix("ib") { s = s.dropLast(2) } else if s.hasSuffix("b") { s = s.dropLast() }
        var factor = 1
        switch s.last {
        case "k": factor = 1 << 10
        case "m": factor = 1 << 20
        case "g": factor = 1 << 30
        default: break
        }
        if factor > 1 { s = s.dropLast() }
        guard let n = Int(s), n >= 0 else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: factor)
        return overflow ? nil : bytes
    }
}
