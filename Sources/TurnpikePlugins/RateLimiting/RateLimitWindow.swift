import TurnpikeModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// rate-limiting's periods and their fixed windows, aligned on UTC calendar boundaries as Kong
/// computes them (kong/tools/timestamp.lua `get_timestamps`, kong/plugins/rate-limiting/
/// expiration.lua): a window starts at the second, minute, hour, midnight, first of the month or
/// 1 January, and a new one starts from zero.
public enum RateLimitPeriod: Int, CaseIterable, Sendable, Comparable {
    case second, minute, hour, day, month, year

    /// Kong's config field and header word (`X-RateLimit-Limit-Minute`).
    public var name: String {
        switch self {
        case .second: return "second"
        case .minute: return "minute"
        case .hour: return "hour"
        case .day: return "day"
        case .month: return "month"
        case .year: return "year"
        }
    }

    public var headerName: String {
        let n = self.name
        return n.prefix(1).uppercased() + n.dropFirst()
    }

    /// Kong's EXPIRATION: a month counts 30 days and a year 365, for the Redis key's expiry and
    /// `RateLimit-Reset`.
    public var length: Int64 {
        switch self {
        case .second: return 1
        case .minute: return 60
        case .hour: return 3600
        case .day: return 86_400
        case .month: return 2_592_000
        case .year: return 31_536_000
        }
    }

    public static func < (a: RateLimitPeriod, b: RateLimitPeriod) -> Bool { a.rawValue < b.rawValue }

    /// The start of the window holding `now` (Unix seconds, UTC).
    public func windowStart(at now: Int64) -> Int64 {
        switch self {
        case .second: return now
        case .minute: return now - Self.mod(now, 60)
        case .hour: return now - Self.mod(now, 3600)
        case .day: return now - Self.mod(now, 86_400)
        case .month, .year:
            var t = time_t(now)
            var parts = tm()
            gmtime_r(&t, &parts)
            parts.tm_sec = 0
            parts.tm_min = 0
            parts.tm_hour = 0
            parts.tm_mday = 1
            if self == .year { parts.tm_mon = 0 }
            return Int64(timegm(&parts))
        }
    }

    /// Kong's `RateLimit-Reset`: the seconds left in the window by its nominal length, at least 1.
    public func reset(at now: Int64) -> Int64 {
        max(1, self.length - (now - self.windowStart(at: now)))
    }

    private static func mod(_ a: Int64, _ b: Int64) -> Int64 { ((a % b) + b) % b }
}

extension RateLimitPeriod {
    /// The period fields of a limits record (`second` … `year`), shortest first: numbers
    /// greater than 0, with Kong's messages.
    static func decodeLimits(in r: inout Record) -> [(period: RateLimitPeriod, limit: Double)] {
        var out: [(period: RateLimitPeriod, limit: Double)] = []
        for period in Self.allCases {
            guard let n = r.value(period.name) else { continue }
            guard let v = n.number else {
                r.error("expected a number", key: period.name, node: n)
                continue
            }
            guard v > 0 else {
                r.error("value must be greater than 0", key: period.name, node: n)
                continue
            }
            out.append((period, v))
        }
        return out
    }

    /// Kong's `validate_periods_order`: a longer period may not allow fewer requests. The two
    /// plugins word it alike but for the first letter (`The` in rate-limiting, `the` in
    /// response-ratelimiting).
    static func orderProblem(_ limits: [(period: RateLimitPeriod, limit: Double)], capitalized: Bool) -> String? {
        for (i, lower) in limits.enumerated() {
            for upper in limits[(i + 1)...] where upper.limit < lower.limit {
                return (capitalized ? "The" : "the")
                    + " limit for \(upper.period.name)(\(Self.oneDecimal(upper.limit)))"
                    + " cannot be lower than the limit for \(lower.period.name)(\(Self.oneDecimal(lower.limit)))"
            }
        }
        return nil
    }

    /// Lua's `%.1f`.
    static func oneDecimal(_ v: Double) -> String {
        let tenths = (v * 10).rounded()
        let whole = Int(tenths / 10)
        let decimal = Int(abs(tenths.truncatingRemainder(dividingBy: 10)))
        return "\(whole).\(decimal)"
    }
}
