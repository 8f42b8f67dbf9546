import Synchronization

/// State of plugins that must outlive a snapshot: counters, caches, log queues, connection pools.
/// One per process. The snapshot builder hands it to every plugin instance it makes; a reload makes
/// new instances, which find the same stores under the same keys, so a reload resets no counter and
/// drops no queued entry. Stores synchronize themselves (or keep one part per event loop, touched
/// only on that loop, and sum the parts on read).
public final class PluginStores: Sendable {
    private let stores = Mutex<[String: any PluginStore]>([:])
    /// Held weakly: the plugin instances (so the snapshots) keep them alive. Settings no snapshot
    /// uses any more (a rotated password) let their store go, and it closes its connections.
    private let sharedCounterStores = Mutex<[RedisSettings: WeakSharedCounters]>([:])
    /// Makes the shared counters of the `redis` policies (nil: none in this process).
    public let sharedCountersProvider: (any SharedCountersProvider)?

    /// The bytes proxy-cache's memory strategy may hold (`--cache-size`, 128 MiB by default).
    public let responseCacheBytes: Int

    public init(sharedCounters: (any SharedCountersProvider)? = nil, responseCacheBytes: Int = 128 * 1024 * 1024) {
        self.sharedCountersProvider = sharedCounters
        self.responseCacheBytes = responseCacheBytes
    }

    /// The shared counters for `settings`: one per distinct settings while any snapshot uses it, so
    /// instances (and reloads) with the same Redis share its connections.
    public func sharedCounters(_ settings: RedisSettings) -> any SharedCounters {
        guard let provider = self.sharedCountersProvider else { return UnavailableSharedCounters() }
        return self.sharedCounterStores.withLock { stores in
            if let existing = stores[settings]?.value { return existing }
            let made = provider.counters(for: settings)
            // Entries whose store has gone are dropped as new ones come.
            stores = stores.filter { $0.value.value != nil }
            stores[settings] = WeakSharedCounters(made)
            return made
        }
    }

    /// The store under `key`, made by `make` the first time (or when the one there has another
    /// type). The key names what the state belongs to: the plugin and whatever in its config
    /// identifies the state (rate-limiting's counters are the same across reloads for the same
    /// limits, a cache is shared by the instances that would share it in Kong).
    public func store<S: PluginStore>(_ key: String, make: () -> S) -> S {
        self.stores.withLock { stores in
            if let existing = stores[key] as? S { return existing }
            let made = make()
            stores[key] = made
            return made
        }
    }

    /// Every store, for shutdown.
    var all: [any PluginStore] { self.stores.withLock { Array($0.values) } }

    /// Flushes every store (on graceful shutdown): queued log entries go out, buffered counters
    /// are written.
    public func flush() async {
        for store in self.all { await store.flush() }
    }
}

/// A piece of process-wide plugin state (see `PluginStores`).
public protocol PluginStore: AnyObject, Sendable {
    /// Writes out what is buffered; called on graceful shutdown.
    func flush() async
}

extension PluginStore {
    public func flush() async {}
}

/// A store of shared counters, held without keeping it alive.
struct WeakSharedCounters: Sendable {
    weak var value: (any SharedCounters)?

    init(_ value: any SharedCounters) {
        self.value = value
    }
}
