import Testing
import TurnpikePlugins

/// Kong's fixed windows, aligned on UTC calendar boundaries (kong/tools/timestamp.lua).
@Suite struct RateLimitWindowTests {
    // 2024-02-29T13:45:30Z, a leap day.
    static let t: Int64 = 1_709_214_330

    @Test func windowsStartOnCalendarBoundaries() {
        #expect(RateLimitPeriod.second.windowStart(at: Self.t) == Self.t)
        #expect(RateLimitPeriod.minute.windowStart(at: Self.t) == 1_709_214_300)  // 13:45:00
        #expect(RateLimitPeriod.hour.windowStart(at: Self.t) == 1_709_211_600)  // 13:00:00
        #expect(RateLimitPeriod.day.windowStart(at: Self.t) == 1_709_164_800)  // 2024-02-29
        #expect(RateLimitPeriod.month.windowStart(at: Self.t) == 1_706_745_600)  // 2024-02-01
        #expect(RateLimitPeriod.year.windowStart(at: Self.t) == 1_704_067_200)  // 2024-01-01
        // The first second of a month and of a year start their own windows.
        #expect(RateLimitPeriod.month.windowStart(at: 1_709_251_200) == 1_709_251_200)  // 2024-03-01
        #expect(RateLimitPeriod.year.windowStart(at: 1_704_067_199) == 1_672_531_200)  // 2023-01-01
    }

    @Test func resetIsWhatIsLeftOfTheNominalLength() {
        #expect(RateLimitPeriod.minute.reset(at: Self.t) == 30)
        #expect(RateLimitPeriod.second.reset(at: Self.t) == 1)
        #expect(RateLimitPeriod.hour.reset(at: Self.t) == 3600 - 2730)
        // A month counts 30 days: 28 days and 13:45:30 into February leaves 1 day 10:14:30.
        #expect(RateLimitPeriod.month.reset(at: Self.t) == 2_592_000 - (Self.t - 1_706_745_600))
        // Never below 1, even when a real month is longer than 30 days (January 31, 23:59:59).
        #expect(RateLimitPeriod.month.reset(at: 1_704_067_200 + 31 * 86_400 - 1) == 1)
        #expect(RateLimitPeriod.allCases.map(\.headerName) == ["Second", "Minute", "Hour", "Day", "Month", "Year"])
    }
}
