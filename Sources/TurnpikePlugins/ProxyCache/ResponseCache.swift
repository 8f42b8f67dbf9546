import Synchronization

/// proxy-cache's `memory` strategy: one cache for the process (Kong's shared dict), bounded in
/// bytes (`--cache-size`), least recently used entries evicted first, entries dropped once their
/// storage time is over. Keys are spread over shards, each with its own lock and an equal share
/// of the bytes (no global lock); an entry larger than a shard's share is never stored. Kept
/// across reloads: a reload that keeps a route keeps its cached responses.
public final class ResponseCache: PluginStore {
    public struct Entry: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        /// Unix seconds when it was stored.
        public var storedAt: Int64
        /// Its freshness lifetime in seconds (Kong's `res.ttl`).
        public var ttl: Int64
        /// Unix seconds after which it is gone (the storage TTL).
        public var expiresAt: Int64

        public init(
            status: Int,
            headers: [(name: String, value: String)],
            body: [UInt8],
            storedAt: Int64,
            ttl: Int64,
            expiresAt: Int64
        ) {
            self.status = status
            self.headers = headers
            self.body = body
            self.storedAt = storedAt
            self.ttl = ttl
            self.expiresAt = expiresAt
        }

        /// Bytes it holds, roughly: body, header text and bookkeeping.
        var cost: Int {
            self.body.count + self.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 } + 160
        }
    }

    /// One shard: a dictionary into a doubly linked list kept in an array (most recent first).
    struct Shard {
        struct Node {
            var key: String
            var entry: Entry
            var cost: Int
            var prev = -1
            var next = -1
        }

        var nodes: [Node] = []
        var free: [Int] = []
        var index: [String: Int] = [:]
        var head = -1
        var tail = -1
        var bytes = 0

        mutating func unlink(_ i: Int) {
            let (p, n) = (self.nodes[i].prev, self.nodes[i].next)
            if p >= 0 { self.nodes[p].next = n } else { self.head = n }
            if n >= 0 { self.nodes[n].prev = p } else { self.tail = p }
        }

        mutating func pushFront(_ i: Int) {
            self.nodes[i].prev = -1
            self.nodes[i].next = self.head
            if self.head >= 0 { self.nodes[self.head].prev = i }
            self.head = i
            if self.tail < 0 { self.tail = i }
        }

        mutating func remove(_ i: Int) {
            self.unlink(i)
            self.index[self.nodes[i].key] = nil
            self.bytes -= self.nodes[i].cost
            // Let the entry's memory go now, not when the slot is reused.
            self.nodes[i].entry.body = []
            self.nodes[i].entry.headers = []
            self.free.append(i)
        }
    }

    /// A shard behind its own lock.
    final class Locked: Sendable {
        let shard = Mutex(Shard())
    }

    private let shards: [Locked]
    /// The bytes one shard may hold: also the largest entry that can be stored.
    public let maxEntryBytes: Int
    public let capacity: Int

    /// `bytes`: the whole cache's budget.
    public init(bytes: Int, shards: Int = 16) {
        let count = max(1, shards)
        self.shards = (0..<count).map { _ in Locked() }
        self.capacity = max(0, bytes)
        self.maxEntryBytes = self.capacity / count
    }

    private func shard(_ key: String) -> Locked {
        var hasher = Hasher()
        hasher.combine(key)
        return self.shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(self.shards.count))]
    }

    /// The entry under `key`, unless its storage time is over (then it is dropped).
    public func fetch(_ key: String, now: Int64) -> Entry? {
        self.shard(key).shard.withLock { shard in
            guard let i = shard.index[key] else { return nil }
            guard shard.nodes[i].entry.expiresAt > now else {
                shard.remove(i)
                return nil
            }
            shard.unlink(i)
            shard.pushFront(i)
            return shard.nodes[i].entry
        }
    }

    /// Stores `entry` (replacing what `key` held), evicting the least recently used entries of
    /// its shard to make room. False when the entry alone is larger than a shard may hold.
    @discardableResult
    public func store(_ key: String, _ entry: Entry) -> Bool {
        let cost = entry.cost
        guard cost <= self.maxEntryBytes else { return false }
        self.shard(key).shard.withLock { shard in
            if let old = shard.index[key] { shard.remove(old) }
            while shard.bytes + cost > self.maxEntryBytes, shard.tail >= 0 { shard.remove(shard.tail) }
            let node = Shard.Node(key: key, entry: entry, cost: cost)
            let i: Int
            if let slot = shard.free.popLast() {
                shard.nodes[slot] = node
                i = slot
            } else {
                shard.nodes.append(node)
                i = shard.nodes.count - 1
            }
            shard.index[key] = i
            shard.bytes += cost
            shard.pushFront(i)
        }
        return true
    }

    public func purge(_ key: String) {
        self.shard(key).shard.withLock { shard in
            if let i = shard.index[key] { shard.remove(i) }
        }
    }

    /// Bytes held and entries, over every shard (tests, `/status`).
    public var usage: (bytes: Int, entries: Int) {
        self.shards.reduce((0, 0)) { total, shard in
            shard.shard.withLock { (total.0 + $0.bytes, total.1 + $0.index.count) }
        }
    }
}
