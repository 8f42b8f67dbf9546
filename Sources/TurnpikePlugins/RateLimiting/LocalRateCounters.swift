import Synchronization

/// rate-limiting's `local` policy store: one counter per (plugin instance, identifier, period,
/// window), shared by every event loop so a limit holds for the whole node. Keys are spread over
/// shards, each with its own short lock, so two loops rarely meet on one (no lock is global).
/// Memory is bounded: a shard past `maxEntriesPerShard` first drops the windows that have ended,
/// then, if the identifiers an attacker controls keep it full, the oldest windows.
public final class LocalRateCounters: PluginStore {
    public struct Key: Hashable, Sendable {
        public var instance: String
        public var identifier: String
        public var period: RateLimitPeriod
        public var windowStart: Int64

        public init(instance: String, identifier: String, period: RateLimitPeriod, windowStart: Int64) {
            self.instance = instance
            self.identifier = identifier
            self.period = period
            self.windowStart = windowStart
        }

        var windowEnd: Int64 { self.windowStart + self.period.length }
    }

    final class Shard: Sendable {
        let counters = Mutex<[Key: Int64]>([:])
    }

    private let shards: [Shard]
    let maxEntriesPerShard: Int

    public init(shards: Int = 64, maxEntriesPerShard: Int = 16_384) {
        self.shards = (0..<max(1, shards)).map { _ in Shard() }
        self.maxEntriesPerShard = maxEntriesPerShard
    }

    private func shard(_ key: Key) -> Shard {
        var hasher = Hasher()
        hasher.combine(key.instance)
        hasher.combine(key.identifier)
        return self.shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(self.shards.count))]
    }

    /// The count in `key`'s window (0 when none).
    public func count(_ key: Key) -> Int64 {
        self.shard(key).counters.withLock { $0[key] ?? 0 }
    }

    /// Adds `amount` to `key`'s window; `now` lets a full shard drop ended windows.
    public func add(_ amount: Int64, to key: Key, now: Int64) {
        self.shard(key).counters.withLock { counters in
            if counters[key] == nil && counters.count >= self.maxEntriesPerShard {
                Self.evict(&counters, now: now, keep: self.maxEntriesPerShard * 3 / 4)
            }
            counters[key, default: 0] += amount
        }
    }

    /// Entries held, over every shard (for tests and `/status`).
    public var entryCount: Int {
        self.shards.reduce(0) { total, shard in total + shard.counters.withLock { $0.count } }
    }

    private static func evict(_ counters: inout [Key: Int64], now: Int64, keep: Int) {
        counters = counters.filter { $0.key.windowEnd > now }
        guard counters.count > keep else { return }
        let oldest = counters.keys.sorted { $0.windowStart < $1.windowStart }.prefix(counters.count - keep)
        for key in oldest { counters[key] = nil }
    }
}
