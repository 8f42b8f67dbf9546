#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `Date` header value (RFC 9110 §5.6.7, IMF-fixdate), formatted at most once a second per
/// event loop: nginx, and so Kong, sends one on every response it makes and on proxied responses
/// that came without one.
final class HTTPDateCache {
    private var second: Int = -1
    private var text = ""

    /// The current date; loop-confined.
    var now: String {
        let t = time(nil)
        if t != self.second {
            self.second = t
            self.text = Self.format(t)
        }
        return self.text
    }

    static func format(_ t: Int) -> String {
        var seconds = time_t(t)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
