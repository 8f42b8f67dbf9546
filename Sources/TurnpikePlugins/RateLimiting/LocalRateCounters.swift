import Synchronization
public import TurnpikeModel

/// rate-limiting's `local` policy store: one counter per (plugin attachment, identifier, period,
/// window), shared by every event loop so a limit holds for the whole node. Keys are spread over
/// shards, each with its own short lock (no lock is global); one request takes one shard's lock
/// once (all its periods share the shard: the shard follows the attachment and the identifier).
/// Memory is bounded: a shard past `maxEntriesPerShard` first drops the windows that have ended,
/// then, if identifiers an attacker controls keep it full, the oldest windows.
public final class LocalRateCounters: PluginStore {
    /// What a request is counted as: an entity's id (consumer, credential, service) or a text
    /// (client address, header value, path).
    public enum Identifier: Hashable, Sendable {
        case id(EntityID)
        case text(String)

        /// As Kong writes it in keys: an id's text, or the text itself.
        public var text: String {
            switch self {
            case .id(let id): return id.description
            case .text(let text): return text
            }
        }
    }

    public struct Key: Hashable, Sendable {
        /// The plugin's attachment, as a small number (`attachmentNumber`).
        public var attachment: Int
        public var identifier: Identifier
        public var period: RateLimitPeriod
        public var windowStart: Int64

        public init(attachment: Int, identifier: Identifier, period: RateLimitPeriod, windowStart: Int64) {
            self.attachment = attachment
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
    private let attachments = Mutex<[String: Int]>([:])

    public init(shards: Int = 64, maxEntriesPerShard: Int = 16_384) {
        self.shards = (0..<max(1, shards)).map { _ in Shard() }
        self.maxEntriesPerShard = maxEntriesPerShard
    }

    /// A number for an attachment (`<route id>:<service id>`), the same for the process's life,
    /// so keys hash a word instead of two UUIDs' text (at plugin creation, not per request).
    public func attachmentNumber(_ attachment: String) -> Int {
        self.attachments.withLock { table in
            if let n = table[attachment] { return n }
            let n = table.count
            table[attachment] = n
            return n
        }
    }

    private func shard(attachment: Int, identifier: Identifier) -> Shard {
        var hasher = Hasher()
        hasher.combine(attachment)
        hasher.combine(identifier)
        return self.shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(self.shards.count))]
    }

    /// The count in `key`'s window (0 when none).
    public func count(_ key: Key) -> Int64 {
        self.shard(attachment: key.attachment, identifier: key.identifier).counters.withLock { $0[key] ?? 0 }
    }

    /// Adds `amount` to `key`'s window; `now` lets a full shard drop ended windows.
    public func add(_ amount: Int64, to key: Key, now: Int64) {
        self.shard(attachment: key.attachment, identifier: key.identifier).counters.withLock { counters in
            Self.add(amount, to: key, in: &counters, now: now, bound: self.maxEntriesPerShard)
        }
    }

    /// Kong's check-then-count for one request, under one lock: the counts of `periods`' current
    /// windows; when `admit` says yes to them, each is incremented. Allocation-free (keys are
    /// made twice rather than kept in an array).
    public func countAndAdmit(
        attachment: Int,
        identifier: Identifier,
        periods: [RateLimitPeriod],
        now: Int64,
        admit: (PeriodCounts) -> Bool
    ) -> PeriodCounts {
        func key(_ i: Int) -> Key {
            Key(
                attachment: attachment,
                identifier: identifier,
                period: periods[i],
                windowStart: periods[i].windowStart(at: now)
            )
        }
        return self.shard(attachment: attachment, identifier: identifier).counters.withLock { counters in
            var counts = PeriodCounts(count: periods.count)
            for i in periods.indices { counts[i] = counters[key(i)] ?? 0 }
            if admit(counts) {
                for i in periods.indices {
                    Self.add(1, to: key(i), in: &counters, now: now, bound: self.maxEntriesPerShard)
                }
            }
            return counts
        }
    }

    /// Entries held, over every shard (for tests and `/status`).
    public var entryCount: Int {
        self.shards.reduce(0) { total, shard in total + shard.counters.withLock { $0.count } }
    }

    private static func add(_ amount: Int64, to key: Key, in counters: inout [Key: Int64], now: Int64, bound: Int) {
        if counters[key] == nil && counters.count >= bound { Self.evict(&counters, now: now, keep: bound * 3 / 4) }
        // Saturating: response-ratelimiting adds what an upstream says, which may be anything.
        let (sum, overflow) = counters[key, default: 0].addingReportingOverflow(amount)
        counters[key] = overflow ? (amount > 0 ? .max : .min) : sum
    }

    private static func evict(_ counters: inout [Key: Int64], now: Int64, keep: Int) {
        counters = counters.filter { $0.key.windowEnd > now }
        guard counters.count > keep else { return }
        let oldest = counters.keys.sorted { $0.windowStart < $1.windowStart }.prefix(counters.count - keep)
        for key in oldest { counters[key] = nil }
    }
}

/// One count per configured period (at most six), kept inline: no array per request.
public struct PeriodCounts: Sendable, Equatable {
    private var values: (Int64, Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0, 0)
    public let count: Int

    public init(count: Int) {
        precondition(count <= 6, "six periods at most")
        self.count = count
    }

    public init(_ array: [Int64]) {
        self.init(count: min(array.count, 6))
        for i in 0..<self.count { self[i] = array[i] }
    }

    public var indices: Range<Int> { 0..<self.count }

    public subscript(i: Int) -> Int64 {
        get {
            switch i {
            case 0: return self.values.0
            case 1: return self.values.1
            case 2: return self.values.2
            case 3: return self.values.3
            case 4: return self.values.4
            default: return self.values.5
            }
        }
        set {
            switch i {
            case 0: self.values.0 = newValue
            case 1: self.values.1 = newValue
            case 2: self.values.2 = newValue
            case 3: self.values.3 = newValue
            case 4: self.values.4 = newValue
            default: self.values.5 = newValue
            }
        }
    }

    public static func == (a: PeriodCounts, b: PeriodCounts) -> Bool {
        a.count == b.count && a.indices.allSatisfy { a[$0] == b[$0] }
    }
}
