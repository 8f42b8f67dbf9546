import Synchronization

/// rate-limiting's `redis` policy with `sync_rate` (Kong's semi-realtime mode,
/// kong/plugins/rate-limiting/policies/init.lua): a key's count is read from Redis once (with
/// Kong's counting script, so this request is counted there), then served from this node's copy
/// plus what the node counted since; the node's counts go to Redis in one pipeline at most
/// `sync_rate` seconds after the first of them, and the copies are then dropped, so the next
/// request reads Redis again and sees the other nodes' counts. One per Redis (Kong's `db_key`),
/// shared by every loop; a short lock per request.
public final class SyncedRateCounters: PluginStore {
    struct Entry {
        /// The count Redis gave when the copy was made.
        var usage: Int64
        /// Unix seconds when the key's window ends.
        var expireAt: Int64
        /// This node's count since (Kong's `cur_delta`: -1 after the read, which counted).
        var delta: Int64
    }

    struct State {
        var entries: [String: Entry] = [:]
        var syncPending = false
    }

    private let state = Mutex(State())

    public init() {}

    /// The counts of `keys` from this node's copies: nil for a key without a fresh copy.
    func cached(_ keys: [String], now: Int64) -> [Int64?] {
        self.state.withLock { state in
            keys.map { key in
                guard let e = state.entries[key], e.expireAt > now else { return nil }
                return e.usage + e.delta
            }
        }
    }

    /// Copies counts just read from Redis (which counted this request: Kong's delta of -1).
    func fill(_ key: String, usage: Int64, expireAt: Int64) {
        self.state.withLock { $0.entries[key] = Entry(usage: usage, expireAt: expireAt, delta: -1) }
    }

    /// Counts an admitted request on each key; true when the caller must schedule a sync (none
    /// is pending yet).
    func increment(_ keys: [String]) -> Bool {
        self.state.withLock { state in
            for key in keys { state.entries[key]?.delta += 1 }
            guard !state.syncPending else { return false }
            state.syncPending = true
            return true
        }
    }

    /// What to send to Redis: every key's count since its read, with its window's end; the copies
    /// are dropped (Kong clears its tables after each sync).
    func takeDeltas() -> [(key: String, delta: Int64, expireAt: Int64)] {
        self.state.withLock { state in
            let out = state.entries.map { (key: $0.key, delta: $0.value.delta, expireAt: $0.value.expireAt) }
            state.entries = [:]
            state.syncPending = false
            return out
        }
    }
}
