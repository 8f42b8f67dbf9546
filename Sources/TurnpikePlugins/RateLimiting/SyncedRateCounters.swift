import Synchronization

/// rate-limiting's `redis` policy with `sync_rate` (Kong's semi-realtime mode,
/// kong/plugins/rate-limiting/policies/init.lua): a key's count is read from Redis once (with
/// Kong's counting script, so this request is counted there), then served from this node's copy
/// plus what the node counted since; the node's counts go to Redis in one pipeline at most
/// `sync_rate` seconds after the first of them, and the copies are then dropped, so the next
/// request reads Redis again and sees the other nodes' counts. One per Redis (Kong's `db_key`),
/// shared by every loop; a short lock per request.
public final class SyncedRateCounters: PluginStore {
    /// A count read from Redis (Kong's `cur_usage` and `cur_usage_expire_at`).
    struct Copy {
        var usage: Int64
        /// Unix seconds when the key's window ends.
        var expireAt: Int64
    }

    struct State {
        var copies: [String: Copy] = [:]
        /// This node's counts since the last sync (Kong's `cur_delta`): a read counts -1 (the
        /// script counted the request in Redis), an admitted request +1. Kept apart from the
        /// copies, so a read that lands after other requests were counted loses none of them.
        var deltas: [String: (delta: Int64, expireAt: Int64)] = [:]
        var syncPending = false
    }

    private let state = Mutex(State())

    public init() {}

    /// The counts of `keys` from this node's copies: nil for a key without a fresh copy.
    func cached(_ keys: [String], now: Int64) -> [Int64?] {
        self.state.withLock { state in
            keys.map { key in
                guard let copy = state.copies[key], copy.expireAt > now else { return nil }
                return copy.usage + (state.deltas[key]?.delta ?? 0)
            }
        }
    }

    /// Copies a count just read from Redis (which counted this request there: -1 here).
    func fill(_ key: String, usage: Int64, expireAt: Int64) {
        self.state.withLock { state in
            state.copies[key] = Copy(usage: usage, expireAt: expireAt)
            state.deltas[key, default: (0, expireAt)].delta -= 1
        }
    }

    /// Counts an admitted request on each key (`expireAt`: each key's window end); true when the
    /// caller must schedule a sync (none is pending yet).
    func increment(_ keys: [String], expireAt: [Int64]) -> Bool {
        self.state.withLock { state in
            for (key, end) in zip(keys, expireAt) { state.deltas[key, default: (0, end)].delta += 1 }
            guard !state.syncPending else { return false }
            state.syncPending = true
            return true
        }
    }

    /// What to send to Redis: every key's count since the last sync, with its window's end; the
    /// copies are dropped too (Kong clears its tables after each sync), so the next request reads
    /// the fleet's count.
    func takeDeltas() -> [(key: String, delta: Int64, expireAt: Int64)] {
        self.state.withLock { state in
            let out = state.deltas.map { (key: $0.key, delta: $0.value.delta, expireAt: $0.value.expireAt) }
            state.deltas = [:]
            state.copies = [:]
            state.syncPending = false
            return out
        }
    }
}
