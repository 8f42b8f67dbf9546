import TurnpikeModel

/// A number as Lua's `tostring` shows it, as Kong's plugins write numbers into headers and
/// configs: without decimals when whole (and small enough to be an exact integer), else as a
/// double.
enum LuaNumber {
    static func isWhole(_ d: Double) -> Bool { d == d.rounded() && abs(d) < 1e15 }

    static func text(_ d: Double) -> String { Self.isWhole(d) ? String(Int64(d)) : String(d) }

    static func rendered(_ d: Double) -> Rendered { Self.isWhole(d) ? .integer(Int(d)) : .number(d) }

    /// Lua's conversion of a string to a number (`tonumber`, arithmetic on a string): white space
    /// around it ignored, decimal with an optional exponent, or `0x` hex; nil otherwise.
    static func parse(_ text: String) -> Double? {
        var t = Substring(text).kongStripped
        let negative = t.hasPrefix("-")
        if negative || t.hasPrefix("+") { t = t.dropFirst() }
        let value: Double?
        if t.hasPrefix("0x") || t.hasPrefix("0X") {
            value = UInt64(t.dropFirst(2), radix: 16).map(Double.init)
        } else if let first = t.first, first.isASCII, first.isNumber || first == "." {
            value = Double(t)
        } else {
            value = nil
        }
        return value.map { negative ? -$0 : $0 }
    }
}
