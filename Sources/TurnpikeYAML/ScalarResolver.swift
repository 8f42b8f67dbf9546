import TurnpikeModel

// Scalar typing, following lyaml (gvvaughan/lyaml, lib/lyaml/implicit.lua, explicit.lua and init.lua),
// which is what Kong uses to read declarative YAML.
//
// Quoted, literal and folded scalars without a tag are strings. Plain scalars without a tag are tried
// against these rules, first match wins:
//  1. null:    the empty scalar, `~`, `null`, `Null`, `NULL`.
//  2. octal:   optional sign, `0`, any `_`s, then an octal digit followed by octal digits and `_`s.
//              `010` = 8, `-0_10` = -8, `00` = 0. `0` alone is not octal (it is decimal 0); `08` is not octal.
//  3. decimal: optional sign, any `_`s, a digit, then digits and `_`s; `_` are dropped. lyaml's "no leading
//              zero" test is always true, so `08` = 8 and `0009` = 9; `+1` = 1, `_1` = 1, `1__` = 1.
//  4. float:   the text contains `.`, `e` or `E`, and with every `_` removed Lua's `tonumber` accepts it.
//              That takes decimal forms (`.5`, `1.`, `+1.5`, `1e5`, `1_000.5`) and hex forms, so `0x1e`
//              and `0xDEADBEEF` (hex digits e/E) are floats here, before the hex rule sees them, as is `0x1.8`.
//  5. bool:    `true True TRUE false False FALSE yes Yes YES no No NO on On ON off Off OFF` (not `y`/`n`).
//  6. inf:     `.inf .Inf .INF`, each also with a `+` or `-` sign.
//  7. nan:     `.nan .NaN .NAN`, unsigned only.
//  8. hex:     optional sign, `0x` (lower-case x only), any `_`s, a hex digit, then hex digits and `_`s.
//  9. binary:  optional sign, `0b`, any `_`s, then `[01]` followed by at least one more `[01_]`, so `0b1` is
//              a string while `0b10` = 2.
// 10. sexagesimal int: optional sign, digits, `:`, a digit, then digits and colons; every run of digits is a
//              base-60 digit with no range check (`1:30` = 90, `1:99` = 159, `1:2::3` = 3723).
// 11. sexagesimal float: the same followed by `.` and digits (`1:30.5` = 90.5).
// 12. otherwise a string (`0o10`, `0X1F`, `NaN`, `+.nan`, `1:30.`, `y`).
// lyaml raises a Lua error (the file fails to load) for an octal or binary number ending in `_` (`07_`,
// `0b10_`): its digit loop hands `_` to tonumber. We report that as an error too.
// Where Lua would quietly turn an integer into an inexact double, we report `integer out of range` instead;
// a float literal that overflows to infinity is `number out of range`.
//
// Explicit tags (lyaml explicit.lua) apply to every scalar style:
//  `!!str` the text; `!!null` null whatever the text; `!!bool` the bool words plus `y Y n N`;
//  `!!int` octal, decimal, hex, binary or sexagesimal int; `!!float` float, nan, inf, octal/decimal/hex/binary
//  as a float, or sexagesimal float (not a sexagesimal int). Any other tag is an error.

/// Types YAML scalars the way lyaml does.
enum ScalarResolver {
    /// The typed value, or the message of an error at the scalar.
    enum Outcome {
        case value(ConfigNode.Value)
        case invalid(String)
    }

    static let yamlTagPrefix = "tag:yaml.org,2002:"

    /// Resolves one scalar event. `tag` is libyaml's resolved tag or nil.
    static func resolve(_ text: UnsafeBufferPointer<UInt8>, isPlain: Bool, tag: String?) -> Outcome {
        guard let tag else {
            return isPlain ? self.resolvePlain(text) : .value(.string(self.string(text)))
        }
        switch tag {
        case "tag:yaml.org,2002:str":
            return .value(.string(self.string(text)))
        case "tag:yaml.org,2002:null":
            return .value(.null)
        case "tag:yaml.org,2002:bool":
            if let bool = self.bool(text) ?? self.shortBool(text) { return .value(.bool(bool)) }
            return self.invalidTagged("!!bool", text)
        case "tag:yaml.org,2002:int":
            return self.explicitInt(text)
        case "tag:yaml.org,2002:float":
            return self.explicitFloat(text)
        case "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq":
            return .invalid("YAML tag '\(self.displayTag(tag))' cannot be used on a scalar")
        default:
            return .invalid("unsupported YAML tag '\(self.displayTag(tag))'")
        }
    }

    /// `tag:yaml.org,2002:x` printed as the `!!x` the user wrote; other tags as they are.
    static func displayTag(_ tag: String) -> String {
        tag.hasPrefix(self.yamlTagPrefix) ? "!!" + tag.dropFirst(self.yamlTagPrefix.count) : tag
    }

    // MARK: - Plain scalars

    static func resolvePlain(_ text: UnsafeBufferPointer<UInt8>) -> Outcome {
        guard let first = text.first else { return .value(.null) }
        switch first {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "_"):
            return self.resolveNumeric(text) ?? .value(.string(self.string(text)))
        case UInt8(ascii: "~"):
            return text.count == 1 ? .value(.null) : .value(.string(self.string(text)))
        case UInt8(ascii: "n"), UInt8(ascii: "N"):
            if self.isNullWord(text) { return .value(.null) }
            if let bool = self.bool(text) { return .value(.bool(bool)) }
        case UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "y"),
            UInt8(ascii: "Y"), UInt8(ascii: "o"), UInt8(ascii: "O"):
            if let bool = self.bool(text) { return .value(.bool(bool)) }
        default:
            break
        }
        return .value(.string(self.string(text)))
    }

    /// The rules that can match a scalar starting with a digit, sign, `.` or `_`, in lyaml's order
    /// (null and bool cannot start that way). Nil means "a string".
    private static func resolveNumeric(_ text: UnsafeBufferPointer<UInt8>) -> Outcome? {
        if let outcome = self.integerOutcome(self.octal(text), text) { return outcome }
        if let outcome = self.integerOutcome(self.decimal(text), text) { return outcome }
        if let outcome = self.float(text) { return outcome }
        if let value = self.infinity(text) ?? self.notANumber(text) { return .value(.float(value)) }
        if let outcome = self.integerOutcome(self.hexadecimal(text), text) { return outcome }
        if let outcome = self.integerOutcome(self.binary(text), text) { return outcome }
        if let outcome = self.integerOutcome(self.sexagesimal(text), text) { return outcome }
        if let value = self.sexagesimalFloat(text) { return self.floatOutcome(value) }
        return nil
    }

    // MARK: - Explicit tags

    private static func explicitInt(_ text: UnsafeBufferPointer<UInt8>) -> Outcome {
        for match in [
            self.octal(text), self.decimal(text), self.hexadecimal(text), self.binary(text),
            self.sexagesimal(text),
        ] {
            if let outcome = self.integerOutcome(match, text) { return outcome }
        }
        return self.invalidTagged("!!int", text)
    }

    private static func explicitFloat(_ text: UnsafeBufferPointer<UInt8>) -> Outcome {
        if let outcome = self.float(text) { return outcome }
        if let value = self.notANumber(text) ?? self.infinity(text) { return .value(.float(value)) }
        for match in [self.octal(text), self.decimal(text), self.hexadecimal(text), self.binary(text)] {
            switch match {
            case .noMatch: continue
            case .value(let int): return .value(.float(Double(int)))
            case .overflow(let approximate): return self.floatOutcome(approximate)
            case .trailingUnderscore: return .invalid(self.trailingUnderscoreMessage(text))
            }
        }
        if let value = self.sexagesimalFloat(text) { return self.floatOutcome(value) }
        return self.invalidTagged("!!float", text)
    }

    private static func invalidTagged(_ tag: String, _ text: UnsafeBufferPointer<UInt8>) -> Outcome {
        .invalid("invalid \(tag) value '\(self.string(text))'")
    }

    // MARK: - Words

    private static func isNullWord(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        self.equals(text, "null") || self.equals(text, "Null") || self.equals(text, "NULL")
    }

    private static let trueWords: [StaticString] = ["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"]
    private static let falseWords: [StaticString] = [
        "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF",
    ]

    static func bool(_ text: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard text.count >= 2, text.count <= 5 else { return nil }
        for word in self.trueWords where self.equals(text, word) { return true }
        for word in self.falseWords where self.equals(text, word) { return false }
        return nil
    }

    private static func shortBool(_ text: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard text.count == 1 else { return nil }
        switch text[0] {
        case UInt8(ascii: "y"), UInt8(ascii: "Y"): return true
        case UInt8(ascii: "n"), UInt8(ascii: "N"): return false
        default: return nil
        }
    }

    private static func infinity(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        guard text.count == 4 || text.count == 5 else { return nil }
        var start = 0
        var sign = 1.0
        if text.count == 5 {
            switch text[0] {
            case UInt8(ascii: "+"): break
            case UInt8(ascii: "-"): sign = -1
            default: return nil
            }
            start = 1
        }
        let rest = UnsafeBufferPointer(rebasing: text[start...])
        guard self.equals(rest, ".inf") || self.equals(rest, ".Inf") || self.equals(rest, ".INF") else { return nil }
        return sign * Double.infinity
    }

    private static func notANumber(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        self.equals(text, ".nan") || self.equals(text, ".NaN") || self.equals(text, ".NAN") ? Double.nan : nil
    }

    // MARK: - Integers

    /// What an integer rule made of a scalar.
    enum IntegerMatch {
        case noMatch
        case value(Int64)
        /// The pattern matched but the value does not fit Int64; the payload is the nearest double.
        case overflow(Double)
        /// An octal or binary number ending in `_`, which makes lyaml fail.
        case trailingUnderscore
    }

    private static func integerOutcome(_ match: IntegerMatch, _ text: UnsafeBufferPointer<UInt8>) -> Outcome? {
        switch match {
        case .noMatch: return nil
        case .value(let int): return .value(.integer(int))
        case .overflow: return .invalid("integer out of range")
        case .trailingUnderscore: return .invalid(self.trailingUnderscoreMessage(text))
        }
    }

    private static func trailingUnderscoreMessage(_ text: UnsafeBufferPointer<UInt8>) -> String {
        "invalid number '\(self.string(text))' (it must not end with '_'; quote it to make it a string)"
    }

    /// Index after an optional `+`/`-`, and whether it was `-`.
    private static func sign(_ text: UnsafeBufferPointer<UInt8>) -> (negative: Bool, next: Int) {
        guard let first = text.first else { return (false, 0) }
        if first == UInt8(ascii: "-") { return (true, 1) }
        if first == UInt8(ascii: "+") { return (false, 1) }
        return (false, 0)
    }

    private static func skipUnderscores(_ text: UnsafeBufferPointer<UInt8>, from index: Int) -> Int {
        var index = index
        while index < text.count, text[index] == UInt8(ascii: "_") { index += 1 }
        return index
    }

    /// Value of a digit in `radix` (2, 8, 10 or 16), nil if it is not one.
    private static func digitValue(_ byte: UInt8, radix: UInt64) -> UInt64? {
        let value: UInt64
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): value = UInt64(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): value = UInt64(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
        return value < radix ? value : nil
    }

    /// Reads `text[start...]` as digits of `radix` mixed with `_`; nil if another byte occurs.
    private static func accumulate(
        _ text: UnsafeBufferPointer<UInt8>,
        from start: Int,
        radix: UInt64,
        negative: Bool
    ) -> IntegerMatch? {
        var magnitude: UInt64 = 0
        var approximate = 0.0
        var overflowed = false
        for index in start..<text.count {
            let byte = text[index]
            if byte == UInt8(ascii: "_") { continue }
            guard let digit = self.digitValue(byte, radix: radix) else { return nil }
            approximate = approximate * Double(radix) + Double(digit)
            if !overflowed {
                let (shifted, o1) = magnitude.multipliedReportingOverflow(by: radix)
                let (sum, o2) = shifted.addingReportingOverflow(digit)
                magnitude = sum
                overflowed = o1 || o2
            }
        }
        if overflowed, radix == 10 {
            // Correctly rounded, as Lua's tonumber would give, for `!!float` on a long integer.
            let digits = UnsafeBufferPointer(rebasing: text[start...]).filter { $0 != UInt8(ascii: "_") }
            approximate = Double(String(decoding: digits, as: UTF8.self)) ?? approximate
        }
        return self.signed(magnitude, overflowed: overflowed, approximate: approximate, negative: negative)
    }

    private static func signed(
        _ magnitude: UInt64,
        overflowed: Bool,
        approximate: Double,
        negative: Bool
    )
        -> IntegerMatch
    {
        let limit = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        guard !overflowed, magnitude <= limit else { return .overflow(negative ? -approximate : approximate) }
        if negative {
            return .value(magnitude == limit ? Int64.min : -Int64(magnitude))
        }
        return .value(Int64(magnitude))
    }

    private static func isDigit(_ byte: UInt8, radix: UInt64) -> Bool {
        self.digitValue(byte, radix: radix) != nil
    }

    /// `^[+-]?0_*[0-7][0-7_]*$`
    static func octal(_ text: UnsafeBufferPointer<UInt8>) -> IntegerMatch {
        let (negative, afterSign) = self.sign(text)
        guard afterSign < text.count, text[afterSign] == UInt8(ascii: "0") else { return .noMatch }
        let start = self.skipUnderscores(text, from: afterSign + 1)
        guard start < text.count, self.isDigit(text[start], radix: 8) else { return .noMatch }
        guard let match = self.accumulate(text, from: start, radix: 8, negative: negative) else { return .noMatch }
        return text[text.count - 1] == UInt8(ascii: "_") ? .trailingUnderscore : match
    }

    /// `^[+-]?_*[0-9][0-9_]*$`
    static func decimal(_ text: UnsafeBufferPointer<UInt8>) -> IntegerMatch {
        let (negative, afterSign) = self.sign(text)
        let start = self.skipUnderscores(text, from: afterSign)
        guard start < text.count, self.isDigit(text[start], radix: 10) else { return .noMatch }
        return self.accumulate(text, from: start, radix: 10, negative: negative) ?? .noMatch
    }

    /// `^[+-]?0x_*[0-9a-fA-F][0-9a-fA-F_]*$`
    static func hexadecimal(_ text: UnsafeBufferPointer<UInt8>) -> IntegerMatch {
        let (negative, afterSign) = self.sign(text)
        guard afterSign + 1 < text.count, text[afterSign] == UInt8(ascii: "0"), text[afterSign + 1] == UInt8(ascii: "x")
        else { return .noMatch }
        let start = self.skipUnderscores(text, from: afterSign + 2)
        guard start < text.count, self.isDigit(text[start], radix: 16) else { return .noMatch }
        return self.accumulate(text, from: start, radix: 16, negative: negative) ?? .noMatch
    }

    /// `^[+-]?0b_*[01][01_]+$`
    static func binary(_ text: UnsafeBufferPointer<UInt8>) -> IntegerMatch {
        let (negative, afterSign) = self.sign(text)
        guard afterSign + 1 < text.count, text[afterSign] == UInt8(ascii: "0"), text[afterSign + 1] == UInt8(ascii: "b")
        else { return .noMatch }
        let start = self.skipUnderscores(text, from: afterSign + 2)
        guard start + 1 < text.count, self.isDigit(text[start], radix: 2) else { return .noMatch }
        guard let match = self.accumulate(text, from: start, radix: 2, negative: negative) else { return .noMatch }
        return text[text.count - 1] == UInt8(ascii: "_") ? .trailingUnderscore : match
    }

    /// Splits `^[+-]?[0-9]+:[0-9][:0-9]*` followed by `fraction` (nil: end of text; else `.[0-9]+` then end).
    /// Returns the sign and the end of the colon part, or nil when the text does not have that shape.
    private static func sexagesimalShape(
        _ text: UnsafeBufferPointer<UInt8>,
        fraction: Bool
    )
        -> (negative: Bool, end: Int)?
    {
        let (negative, afterSign) = self.sign(text)
        var index = afterSign
        while index < text.count, self.isDigit(text[index], radix: 10) { index += 1 }
        guard index > afterSign, index + 1 < text.count, text[index] == UInt8(ascii: ":"),
            self.isDigit(text[index + 1], radix: 10)
        else { return nil }
        index += 2
        while index < text.count, text[index] == UInt8(ascii: ":") || self.isDigit(text[index], radix: 10) {
            index += 1
        }
        let end = index
        if !fraction { return end == text.count ? (negative, end) : nil }
        guard index + 1 < text.count, text[index] == UInt8(ascii: ".") else { return nil }
        index += 1
        while index < text.count, self.isDigit(text[index], radix: 10) { index += 1 }
        return index == text.count ? (negative, end) : nil
    }

    /// Runs of digits in `text[from..<to]` as base-60 digits.
    private static func base60(
        _ text: UnsafeBufferPointer<UInt8>,
        from: Int,
        to: Int
    )
        -> (magnitude: UInt64, overflowed: Bool, approximate: Double)
    {
        var total: UInt64 = 0
        var approximate = 0.0
        var overflowed = false
        var run: UInt64 = 0
        var runApproximate = 0.0
        var inRun = false
        for index in from...to {
            if index < to, text[index] != UInt8(ascii: ":") {
                let digit = UInt64(text[index] - UInt8(ascii: "0"))
                let (shifted, o1) = run.multipliedReportingOverflow(by: 10)
                let (sum, o2) = shifted.addingReportingOverflow(digit)
                run = sum
                overflowed = overflowed || o1 || o2
                runApproximate = runApproximate * 10 + Double(digit)
                inRun = true
                continue
            }
            guard inRun else { continue }
            let (shifted, o1) = total.multipliedReportingOverflow(by: 60)
            let (sum, o2) = shifted.addingReportingOverflow(run)
            total = sum
            overflowed = overflowed || o1 || o2
            approximate = approximate * 60 + runApproximate
            run = 0
            runApproximate = 0
            inRun = false
        }
        return (total, overflowed, approximate)
    }

    static func sexagesimal(_ text: UnsafeBufferPointer<UInt8>) -> IntegerMatch {
        guard let (negative, end) = self.sexagesimalShape(text, fraction: false) else { return .noMatch }
        let start = negative || text[0] == UInt8(ascii: "+") ? 1 : 0
        let (magnitude, overflowed, approximate) = self.base60(text, from: start, to: end)
        return self.signed(magnitude, overflowed: overflowed, approximate: approximate, negative: negative)
    }

    static func sexagesimalFloat(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        guard let (negative, end) = self.sexagesimalShape(text, fraction: true) else { return nil }
        let start = negative || text[0] == UInt8(ascii: "+") ? 1 : 0
        let whole = self.base60(text, from: start, to: end).approximate
        let fraction = Double("0" + self.string(UnsafeBufferPointer(rebasing: text[end...]))) ?? 0
        let value = whole + fraction
        return negative ? -value : value
    }

    // MARK: - Floats

    private static func floatOutcome(_ value: Double) -> Outcome {
        value.isInfinite ? .invalid("number out of range") : .value(.float(value))
    }

    /// Rule 4: contains `.`/`e`/`E` and, without `_`, is a Lua number.
    private static func float(_ text: UnsafeBufferPointer<UInt8>) -> Outcome? {
        var hasMarker = false
        var hasUnderscore = false
        for byte in text {
            switch byte {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): hasMarker = true
            case UInt8(ascii: "_"): hasUnderscore = true
            default: break
            }
        }
        guard hasMarker else { return nil }
        let value: Double?
        if hasUnderscore {
            let stripped = text.filter { $0 != UInt8(ascii: "_") }
            value = stripped.withUnsafeBufferPointer { self.luaNumber($0) }
        } else {
            value = self.luaNumber(text)
        }
        return value.map(self.floatOutcome)
    }

    /// LuaJIT's `tonumber` on a string without surrounding spaces: optional sign, then a decimal number
    /// (`1`, `1.`, `.5`, with an optional exponent) or a hex number (`0x1F`, `0x1.8`, optional `p` exponent).
    /// Its `inf`/`nan` words are left out: they never contain `.`, `e` or `E`, so rule 4 cannot reach them.
    static func luaNumber(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        var index = self.sign(text).next
        let isHex =
            index + 1 < text.count && text[index] == UInt8(ascii: "0")
            && (text[index + 1] == UInt8(ascii: "x") || text[index + 1] == UInt8(ascii: "X"))
        let radix: UInt64 = isHex ? 16 : 10
        if isHex { index += 2 }
        var digits = 0
        while index < text.count, self.isDigit(text[index], radix: radix) {
            index += 1
            digits += 1
        }
        if index < text.count, text[index] == UInt8(ascii: ".") {
            index += 1
            while index < text.count, self.isDigit(text[index], radix: radix) {
                index += 1
                digits += 1
            }
        }
        guard digits > 0 else { return nil }
        if index < text.count {
            let marker = text[index]
            let isExponent =
                isHex
                ? marker == UInt8(ascii: "p") || marker == UInt8(ascii: "P")
                : marker == UInt8(ascii: "e") || marker == UInt8(ascii: "E")
            guard isExponent else { return nil }
            index += 1
            if index < text.count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") { index += 1 }
            let exponentStart = index
            while index < text.count, self.isDigit(text[index], radix: 10) { index += 1 }
            guard index > exponentStart, index == text.count else { return nil }
        }
        // The grammar is checked above; Swift's parser (strtod underneath, no Foundation) does the rounding.
        return Double(self.string(text))
    }

    // MARK: - Bytes

    static func string(_ text: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: text, as: UTF8.self)
    }

    private static func equals(_ text: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        guard text.count == word.utf8CodeUnitCount else { return false }
        let wordBytes = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for index in 0..<text.count where text[index] != wordBytes[index] { return false }
        return true
    }
}
