extension Substring {
    /// The substring without leading and trailing characters of `set`.
    public func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }

    /// Kong's `strip` (kong/tools/string.lua): without leading and trailing white space (`%s`:
    /// space, \t, \n, \v, \f, \r).
    public var kongStripped: Substring { self.trimmingCharacters(in: " \t\n\u{0B}\u{0C}\r") }
}
