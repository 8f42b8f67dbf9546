import TurnpikeModel

/// A number as Lua's `tostring` shows it, as Kong's plugins write numbers into headers and
/// configs: without decimals when whole (and small enough to be an exact integer), else as a
/// double.
enum LuaNumber {
    static func isWhole(_ d: Double) -> Bool { d == d.rounded() && abs(d) < 1e15 }

    static func text(_ d: Double) -> String { Self.isWhole(d) ? String(Int64(d)) : String(d) }

    static func rendered(_ d: Double) -> Rendered { Self.isWhole(d) ? .integer(Int(d)) : .number(d) }
}
