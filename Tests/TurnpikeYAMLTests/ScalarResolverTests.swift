import Testing
import TurnpikeModel
import TurnpikeYAML

/// The typing rules of lyaml (lib/lyaml/implicit.lua, explicit.lua), one row per rule and edge case. Each input
/// is parsed as a whole document, so these go through the public entry point.
@Suite struct ScalarResolverTests {
    static let plainCases: [(String, Expected)] = [
        // null
        ("", .null), ("~", .null), ("null", .null), ("Null", .null), ("NULL", .null),
        ("nULL", .string("nULL")), ("~~", .string("~~")), ("nil", .string("nil")),
        // octal: 0 then octal digits, '_' allowed after the 0 and between digits
        ("010", .int(8)), ("0_10", .int(8)), ("-010", .int(-8)), ("+010", .int(8)), ("00", .int(0)),
        ("0777", .int(511)), ("07_7", .int(63)), ("0__7", .int(7)),
        ("07_", .error("invalid number '07_' (it must not end with '_'; quote it to make it a string)")),
        ("00_", .error("invalid number '00_' (it must not end with '_'; quote it to make it a string)")),
        // decimal: leading zeros are accepted when a non-octal digit follows
        ("0", .int(0)), ("-0", .int(0)), ("+1", .int(1)), ("42", .int(42)), ("-42", .int(-42)),
        ("08", .int(8)), ("0009", .int(9)), ("0_", .int(0)), ("1_000", .int(1000)), ("_1", .int(1)),
        ("1__", .int(1)), ("-_5", .int(-5)),
        ("9223372036854775807", .int(Int64.max)), ("-9223372036854775808", .int(Int64.min)),
        ("9223372036854775808", .error("integer out of range")),
        ("-9223372036854775809", .error("integer out of range")),
        ("123456789012345678901234567890", .error("integer out of range")),
        // float: contains . e E and Lua's tonumber accepts it after dropping '_'
        ("1.5", .float(1.5)), (".5", .float(0.5)), ("1.", .float(1)), ("+1.5", .float(1.5)), ("-.5", .float(-0.5)),
        ("1e5", .float(100_000)), ("1E5", .float(100_000)), ("1e+5", .float(100_000)), ("2.5e-1", .float(0.25)),
        ("1.e2", .float(100)), ("1_000.5", .float(1000.5)), ("1_e2", .float(100)), ("_.5", .float(0.5)),
        ("007.5", .float(7.5)), ("-0.0", .float(-0.0)), ("1e-999", .float(0)),
        ("0x1e", .float(30)), ("0xDEADBEEF", .float(3_735_928_559)), ("0x1.8", .float(1.5)),
        ("-0x1E", .float(-30)), ("0X1E", .float(30)), ("0x1.8p1", .float(3)),
        ("1e999", .error("number out of range")), ("-1e999", .error("number out of range")),
        (".", .string(".")), ("1e", .string("1e")), ("e5", .string("e5")), (".e1", .string(".e1")),
        ("1.2.3", .string("1.2.3")), ("10.0.0.1", .string("10.0.0.1")), ("1.5x", .string("1.5x")),
        // bool: only these spellings
        ("true", .bool(true)), ("True", .bool(true)), ("TRUE", .bool(true)),
        ("false", .bool(false)), ("False", .bool(false)), ("FALSE", .bool(false)),
        ("yes", .bool(true)), ("Yes", .bool(true)), ("YES", .bool(true)),
        ("no", .bool(false)), ("No", .bool(false)), ("NO", .bool(false)),
        ("on", .bool(true)), ("On", .bool(true)), ("ON", .bool(true)),
        ("off", .bool(false)), ("Off", .bool(false)), ("OFF", .bool(false)),
        ("tRUE", .string("tRUE")), ("y", .string("y")), ("n", .string("n")), ("Y", .string("Y")),
        ("yEs", .string("yEs")), ("oN", .string("oN")), ("nO", .string("nO")),
        // inf: three spellings, each optionally signed
        (".inf", .float(.infinity)), (".Inf", .float(.infinity)), (".INF", .float(.infinity)),
        ("+.inf", .float(.infinity)), ("+.Inf", .float(.infinity)), ("+.INF", .float(.infinity)),
        ("-.inf", .float(-.infinity)), ("-.Inf", .float(-.infinity)), ("-.INF", .float(-.infinity)),
        (".iNF", .string(".iNF")), ("inf", .string("inf")), ("-inf", .string("-inf")),
        // nan: unsigned only
        (".nan", .nan), (".NaN", .nan), (".NAN", .nan),
        ("+.nan", .string("+.nan")), ("-.nan", .string("-.nan")), (".Nan", .string(".Nan")), ("NaN", .string("NaN")),
        // hex: lower-case x; with e/E digits it was already a float above
        ("0x1F", .int(31)), ("0x1f", .int(31)), ("0x_1F", .int(31)), ("0x1_F", .int(31)), ("0x1F_", .int(31)),
        ("-0x10", .int(-16)), ("+0xff", .int(255)), ("0x7fffffffffffffff", .int(Int64.max)),
        ("0x8000000000000000", .error("integer out of range")), ("-0x8000000000000000", .int(Int64.min)),
        ("0X1F", .string("0X1F")), ("0x", .string("0x")), ("0xg", .string("0xg")),
        // binary: at least two characters after 0b
        ("0b10", .int(2)), ("0b1010_0111", .int(167)), ("0b_10", .int(2)), ("-0b11", .int(-3)),
        ("0b1", .string("0b1")), ("0b12", .string("0b12")), ("0B10", .string("0B10")),
        ("0b10_", .error("invalid number '0b10_' (it must not end with '_'; quote it to make it a string)")),
        // sexagesimal int: runs of digits are base-60 digits, no range check
        ("1:30", .int(90)), ("1:30:00", .int(5400)), ("-1:30", .int(-90)), ("+1:30", .int(90)),
        ("190:20:30", .int(685_230)), ("1:99", .int(159)), ("1:2::3", .int(3723)), ("1:30::5", .int(5405)),
        ("12:30", .int(750)), ("1::2", .string("1::2")), (":30", .string(":30")), ("1:x", .string("1:x")),
        ("1:a", .string("1:a")), ("1_0:30", .string("1_0:30")),
        // sexagesimal float
        ("1:30.5", .float(90.5)), ("-1:30.5", .float(-90.5)), ("190:20:30.15", .float(685_230.15)),
        ("1:30.", .string("1:30.")), ("1:30.5.1", .string("1:30.5.1")),
        // strings
        ("0o10", .string("0o10")), ("abc", .string("abc")), ("+", .string("+")), ("_", .string("_")),
        ("+-1", .string("+-1")), ("1 2", .string("1 2")),
        ("2024-01-01", .string("2024-01-01")), ("héllo", .string("héllo")), ("~foo", .string("~foo")),
    ]

    @Test(arguments: plainCases)
    func plainScalar(_ text: String, _ expected: Expected) {
        #expect(Expected(parsing: text) == expected, "plain scalar '\(text)'")
    }

    static let styledCases: [(String, Expected)] = [
        // quoted, literal and folded scalars are strings
        ("'123'", .string("123")), ("\"true\"", .string("true")), ("''", .string("")), ("\"~\"", .string("~")),
        ("\"null\"", .string("null")), ("|\n  0x1F\n", .string("0x1F\n")), (">-\n  1.5\n", .string("1.5")),
        ("\"a\\0b\"", .string("a\u{0}b")), ("\"\\u00e9\\/\"", .string("é/")),
        // explicit tags
        ("!!str 123", .string("123")), ("!!str", .string("")), ("!!str yes", .string("yes")),
        ("!!int \"12\"", .int(12)), ("!!int 010", .int(8)), ("!!int 0x1e", .int(30)), ("!!int 1:30", .int(90)),
        ("!!int 0b10", .int(2)), ("!!int 1.5", .error("invalid !!int value '1.5'")),
        ("!!int abc", .error("invalid !!int value 'abc'")),
        ("!!int 99999999999999999999", .error("integer out of range")),
        ("!!float 10", .float(10)), ("!!float '1.5'", .float(1.5)), ("!!float 010", .float(8)),
        ("!!float .nan", .nan), ("!!float -.inf", .float(-.infinity)), ("!!float 1:30.5", .float(90.5)),
        ("!!float 99999999999999999999", .float(1e20)), ("!!float 0x10", .float(16)),
        ("!!float 1:30", .error("invalid !!float value '1:30'")), ("!!float x", .error("invalid !!float value 'x'")),
        ("!!float 1e999", .error("number out of range")),
        ("!!bool yes", .bool(true)), ("!!bool \"OFF\"", .bool(false)), ("!!bool y", .bool(true)),
        ("!!bool N", .bool(false)), ("!!bool 1", .error("invalid !!bool value '1'")),
        ("!!null ''", .null), ("!!null anything", .null), ("!!null", .null),
        ("!<tag:yaml.org,2002:int> 7", .int(7)),
        ("!!binary aGk=", .error("unsupported YAML tag '!!binary'")),
        ("!foo 1", .error("unsupported YAML tag '!foo'")), ("! 1", .error("unsupported YAML tag '!'")),
        ("!!map x", .error("YAML tag '!!map' cannot be used on a scalar")),
        ("!!timestamp 2001-12-14", .error("unsupported YAML tag '!!timestamp'")),
    ]

    @Test(arguments: styledCases)
    func styledScalar(_ text: String, _ expected: Expected) {
        #expect(Expected(parsing: text) == expected, "scalar \(text)")
    }
}

/// The typed value expected from a one-scalar document, or the message of its only error.
enum Expected: Sendable, Equatable, CustomTestStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case nan
    case string(String)
    case error(String)
    case other(String)

    init(parsing text: String) {
        do {
            let node = try YAMLFrontEnd.parse(Array(text.utf8), file: "t.yaml")
            switch node.value {
            case .null: self = .null
            case .bool(let b): self = .bool(b)
            case .integer(let i): self = .int(i)
            case .float(let d): self = d.isNaN ? .nan : .float(d)
            case .string(let s): self = .string(s)
            case .sequence, .mapping: self = .other(node.kindName)
            }
        } catch {
            self = error.errors.count == 1 ? .error(error.errors[0].message) : .other(error.description)
        }
    }

    static func == (lhs: Expected, rhs: Expected) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null), (.nan, .nan): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        // Compare bit patterns so -0.0 and 0.0 differ.
        case (.float(let a), .float(let b)): return a.bitPattern == b.bitPattern || (a == b && a != 0)
        case (.string(let a), .string(let b)), (.error(let a), .error(let b)), (.other(let a), .other(let b)):
            return a == b
        default: return false
        }
    }

    var testDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "bool \(b)"
        case .int(let i): return "int \(i)"
        case .float(let d): return "float \(d)"
        case .nan: return "nan"
        case .string(let s): return "string \"\(s)\""
        case .error(let m): return "error \(m)"
        case .other(let s): return "other \(s)"
        }
    }
}
