/// kong/tools/ip.lua's reading of a host with an optional port (`normalize_ip`: `hostname_type`
/// then `normalize_ipv4`, `normalize_ipv6` or `check_hostname`), which Kong's route `hosts` use.
/// Each check returns nil when the value is fine, else Kong's message.
enum KongIP {
    static func hostWithOptionalPort(_ address: String) -> String? {
        let bytes = Array(address.utf8)
        let colons = bytes.count { $0 == UInt8(ascii: ":") }
        if colons > 1 { return Self.ipv6(address, bytes) }
        let remainder = bytes.filter { $0 != UInt8(ascii: ":") }
        if !remainder.isEmpty && remainder.allSatisfy({ Self.isDigit($0) || $0 == UInt8(ascii: ".") }) {
            return Self.ipv4(address, bytes)
        }
        return Self.hostname(address, bytes)
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    static func isHex(_ c: UInt8) -> Bool { Validators.isHex(c) }

    /// A port as `tonumber` reads a run of digits: nil when over 65535 (or absurdly long).
    static func port(_ digits: ArraySlice<UInt8>) -> Int? {
        guard digits.count <= 5 else { return nil }
        let n = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return n <= 65535 ? n : nil
    }

    /// `^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)(:%d+)?$`, octets at most 255.
    static func ipv4(_ address: String, _ bytes: [UInt8]) -> String? {
        let invalid = "invalid ipv4 address: \(Record.printable(address))"
        let colon = bytes.firstIndex(of: UInt8(ascii: ":"))
        let octets = bytes[..<(colon ?? bytes.endIndex)].split(
            separator: UInt8(ascii: "."),
            omittingEmptySubsequences: false
        )
        guard octets.count == 4 else { return invalid }
        for octet in octets {
            guard (1...3).contains(octet.count), octet.allSatisfy(Self.isDigit) else { return invalid }
            if octet.reduce(0, { $0 * 10 + Int($1 - 0x30) }) > 255 { return invalid }
        }
        if let colon {
            let digits = bytes[(colon + 1)...]
            guard !digits.isEmpty, digits.allSatisfy(Self.isDigit) else { return invalid }
            if Self.port(digits) == nil { return "invalid port number" }
        }
        return nil
    }

    /// `[v6]`, `[v6]:port` or a bare v6 address: `::` expanded as Kong does, then exactly eight
    /// groups of one to four hex digits.
    static func ipv6(_ address: String, _ bytes: [UInt8]) -> String? {
        var check = bytes[...]
        if bytes.first == UInt8(ascii: "["), let close = bytes.firstIndex(of: UInt8(ascii: "]")) {
            // `%b[]`: the brackets balance at the first `]` (no `[` may sit between them).
            if bytes[1..<close].contains(UInt8(ascii: "[")) {
                return "invalid ipv6 address: \(Record.printable(address))"
            }
            check = bytes[1..<close]
            let rest = bytes[(close + 1)...]
            if !rest.isEmpty {
                // `^:(%d-)$`; an empty port (`[::1]:`) is refused here (Kong's Lua fails on it).
                guard rest.first == UInt8(ascii: ":"), rest.count > 1, rest.dropFirst().allSatisfy(Self.isDigit) else {
                    return "invalid ipv6 address"
                }
                if Self.port(rest.dropFirst()) == nil { return "invalid port number" }
            }
        }
        var groups = Array(check)
        if groups.first == UInt8(ascii: ":") { groups.insert(UInt8(ascii: "0"), at: 0) }
        if groups.last == UInt8(ascii: ":") { groups.append(UInt8(ascii: "0")) }
        if let at = Self.firstDoubleColon(groups) {
            // Kong counts every colon and inserts `0:` for what is missing (none when too many).
            let count = groups.count { $0 == UInt8(ascii: ":") }
            var insert: [UInt8] = [UInt8(ascii: ":")]
            for _ in 0..<max(0, 8 - count) { insert += [UInt8(ascii: "0"), UInt8(ascii: ":")] }
            groups.replaceSubrange(at..<(at + 2), with: insert)
        }
        let parts = groups.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard parts.count == 8, parts.allSatisfy({ (1...4).contains($0.count) && $0.allSatisfy(Self.isHex) }) else {
            return "invalid ipv6 address: \(Record.printable(address))"
        }
        return nil
    }

    static func firstDoubleColon(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for i in 0..<(bytes.count - 1) where bytes[i] == UInt8(ascii: ":") && bytes[i + 1] == UInt8(ascii: ":") {
            return i
        }
        return nil
    }

    /// `check_hostname`: an optional `:digits` port, then letters, digits, `-`, `.`, `_`; no label
    /// ends in `-`, no empty label but a last one (a trailing dot).
    static func hostname(_ address: String, _ bytes: [UInt8]) -> String? {
        var name = bytes[...]
        if let colon = bytes.lastIndex(of: UInt8(ascii: ":")), colon + 1 < bytes.count,
            bytes[(colon + 1)...].allSatisfy(Self.isDigit)
        {
            if Self.port(bytes[(colon + 1)...]) == nil { return "invalid port number" }
            name = bytes[..<colon]
        }
        let invalid = "invalid hostname: \(Record.printable(address))"
        guard !name.isEmpty else { return invalid }
        for c in name
        where !(Validators.isAlnum(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_")) {
            return invalid
        }
        let labels = name.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (i, label) in labels.enumerated() {
            if label.last == UInt8(ascii: "-") || (label.isEmpty && i != labels.count - 1) { return invalid }
        }
        return nil
    }
}
