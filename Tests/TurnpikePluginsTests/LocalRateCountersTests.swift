import Dispatch
import Testing

@testable import TurnpikePlugins

/// The `local` policy's counters: one count per window, shared by threads, bounded in memory.
@Suite struct LocalRateCountersTests {
    static func key(_ id: String, _ period: RateLimitPeriod = .minute, at start: Int64 = 60) -> LocalRateCounters.Key {
        LocalRateCounters.Key(attachment: 1, identifier: .text(id), period: period, windowStart: start)
    }

    @Test func countsPerWindowAndIdentifier() {
        let counters = LocalRateCounters()
        counters.add(1, to: Self.key("a"), now: 61)
        counters.add(2, to: Self.key("a"), now: 61)
        counters.add(1, to: Self.key("b"), now: 61)
        #expect(counters.count(Self.key("a")) == 3)
        #expect(counters.count(Self.key("b")) == 1)
        // The next window starts from zero.
        #expect(counters.count(Self.key("a", at: 120)) == 0)
        #expect(counters.count(Self.key("a", .hour, at: 0)) == 0)
    }

    @Test func concurrentIncrementsAreAllCounted() {
        let counters = LocalRateCounters(shards: 4)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<2_000 {
                counters.add(1, to: Self.key("shared"), now: 61)
                counters.add(1, to: Self.key("w\(worker)-\(i % 10)"), now: 61)
            }
        }
        #expect(counters.count(Self.key("shared")) == 16_000)
        #expect(counters.count(Self.key("w3-7")) == 200)
    }

    @Test func oneRequestIsCheckedAndCountedUnderOneLock() {
        let counters = LocalRateCounters()
        let who = LocalRateCounters.Identifier.text("10.0.0.1")
        func take() -> [Int64] {
            let counts = counters.countAndAdmit(attachment: 1, identifier: who, periods: [.second, .minute], now: 61) {
                $0[1] < 2
            }
            return counts.indices.map { counts[$0] }
        }
        #expect(take() == [0, 0])
        #expect(take() == [1, 1])
        // Refused: counted as before, not incremented.
        #expect(take() == [2, 2])
        #expect(take() == [2, 2])
        #expect(counters.attachmentNumber("r:s") == counters.attachmentNumber("r:s"))
        #expect(counters.attachmentNumber("r:s") != counters.attachmentNumber("r2:s"))
    }

    @Test func memoryIsBoundedEndedWindowsGoFirst() {
        let counters = LocalRateCounters(shards: 1, maxEntriesPerShard: 100)
        for i in 0..<100 { counters.add(1, to: Self.key("old-\(i)", at: 0), now: 10) }
        // The old windows have ended by now: the next new key makes room by dropping them.
        counters.add(1, to: Self.key("new", at: 120), now: 130)
        #expect(counters.entryCount == 1)
        // Identifiers that keep coming within one live window: the oldest windows go, the
        // count stays under the bound.
        for i in 0..<1_000 { counters.add(1, to: Self.key("flood-\(i)", at: 120 + Int64(i)), now: 130) }
        #expect(counters.entryCount <= 100)
        #expect(counters.count(Self.key("flood-999", at: 1_119)) == 1)
    }

    @Test func addsSaturate() {
        let counters = LocalRateCounters()
        let key = LocalRateCounters.Key(attachment: 0, identifier: .text("x"), period: .minute, windowStart: 0)
        counters.add(.max, to: key, now: 0)
        counters.add(.max, to: key, now: 0)
        #expect(counters.count(key) == .max)
        counters.add(.min, to: key, now: 0)
        counters.add(.min, to: key, now: 0)
        #expect(counters.count(key) == .min)
    }

    /// `sync_rate`'s copies: a read that lands after requests were counted keeps their counts.
    @Test func syncedCopiesKeepCountsAcrossALateRead() {
        let synced = SyncedRateCounters()
        #expect(synced.cached(["k"], now: 0) == [nil])
        synced.fill("k", usage: 10, expireAt: 60)
        #expect(synced.increment(["k"], expireAt: [60]))
        #expect(synced.cached(["k"], now: 1) == [10])
        #expect(!synced.increment(["k"], expireAt: [60]))  // a sync is pending already
        synced.fill("k", usage: 12, expireAt: 60)  // another loop's read
        #expect(synced.cached(["k"], now: 1) == [12])
        let deltas = synced.takeDeltas()
        #expect(deltas.count == 1 && deltas[0].delta == 0 && deltas[0].expireAt == 60)
        #expect(synced.cached(["k"], now: 1) == [nil])
        // A count after a sync, with no copy: kept for the next sync.
        #expect(synced.increment(["k"], expireAt: [60]))
        #expect(synced.takeDeltas().first?.delta == 1)
    }
}
