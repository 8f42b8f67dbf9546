/// nginx's `ngx_parse_http_time` (Kong's `ngx.parse_http_time`, read by hmac-auth's `Date` and
/// proxy-cache's `Expires`): RFC 1123 (`Tue, 10 Nov 2002 23:50:13 GMT`), RFC 850
/// (`Tuesday, 10-Nov-02 23:50:13 GMT`, a year under 70 in the 2000s) and asctime
/// (`Tue Nov 10 23:50:13 2002`), as Unix seconds. As nginx: the weekday is not checked, the month
/// is told by its letters as nginx tells it, anything after the time (or the asctime year) is
/// ignored and the time is UTC; out-of-range fields and Feb 29 of a common year fail.
enum HTTPDate {
    static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        let end = b.count
        enum Format { case rfc822, rfc850, isoc }
        var format = Format.rfc822
        var p = 0
        while p < end {
            if b[p] == UInt8(ascii: ",") { break }
            if b[p] == UInt8(ascii: " ") {
                format = .isoc
                break
            }
            p += 1
        }
        p += 1
        while p < end, b[p] == UInt8(ascii: " ") { p += 1 }
        guard end - p >= 18 else { return nil }
        func digit(_ i: Int) -> Int? {
            guard i < end, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
            return Int(b[i] - UInt8(ascii: "0"))
        }
        func two(_ i: Int) -> Int? {
            guard let a = digit(i), let c = digit(i + 1) else { return nil }
            return a * 10 + c
        }
        var day = 0
        if format != .isoc {
            guard let d = two(p) else { return nil }
            day = d
            p += 2
            if b[p] == UInt8(ascii: " ") {
                guard end - p >= 18 else { return nil }
                format = .rfc822
            } else if b[p] == UInt8(ascii: "-") {
                format = .rfc850
            } else {
                return nil
            }
            p += 1
        }
        guard p + 2 < end else { return nil }
        let month: Int
        switch b[p] {
        case UInt8(ascii: "J"): month = b[p + 1] == UInt8(ascii: "a") ? 0 : b[p + 2] == UInt8(ascii: "n") ? 5 : 6
        case UInt8(ascii: "F"): month = 1
        case UInt8(ascii: "M"): month = b[p + 2] == UInt8(ascii: "r") ? 2 : 4
        case UInt8(ascii: "A"): month = b[p + 1] == UInt8(ascii: "p") ? 3 : 7
        case UInt8(ascii: "S"): month = 8
        case UInt8(ascii: "O"): month = 9
        case UInt8(ascii: "N"): month = 10
        case UInt8(ascii: "D"): month = 11
        default: return nil
        }
        p += 3
        guard p < end else { return nil }
        if (format == .rfc822 && b[p] != UInt8(ascii: " ")) || (format == .rfc850 && b[p] != UInt8(ascii: "-")) {
            return nil
        }
        p += 1
        var year = 0
        if format == .rfc822 {
            guard let high = two(p), let low = two(p + 2) else { return nil }
            year = high * 100 + low
            p += 4
        } else if format == .rfc850 {
            guard let y = two(p) else { return nil }
            year = y + (y < 70 ? 2000 : 1900)
            p += 2
        }
        if format == .isoc {
            if p < end, b[p] == UInt8(ascii: " ") { p += 1 }
            guard let d = digit(p) else { return nil }
            day = d
            p += 1
            if p < end, b[p] != UInt8(ascii: " ") {
                guard let d2 = digit(p) else { return nil }
                day = day * 10 + d2
                p += 1
            }
            guard end - p >= 14 else { return nil }
        }
        guard p < end, b[p] == UInt8(ascii: " ") else { return nil }
        p += 1
        guard let hour = two(p), p + 2 < end, b[p + 2] == UInt8(ascii: ":"), let minute = two(p + 3),
            p + 5 < end, b[p + 5] == UInt8(ascii: ":"), let second = two(p + 6)
        else { return nil }
        p += 8
        if format == .isoc {
            guard p < end, b[p] == UInt8(ascii: " "), let high = two(p + 1), let low = two(p + 3) else { return nil }
            year = high * 100 + low
        }
        guard hour <= 23, minute <= 59, second <= 59 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        if day == 29 && month == 1 {
            guard leap else { return nil }
        } else if day > days[month] {
            return nil
        }
        return Self.daysFromCivil(year: year, month: month + 1, day: day) * 86_400
            + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
