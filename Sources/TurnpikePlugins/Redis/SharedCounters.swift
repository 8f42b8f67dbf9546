/// Counters in a store that several gateways share (Redis), for the `redis` policies: the same
/// keys and arithmetic as Kong's, so Kong and Turnpike nodes can count in one Redis together.
/// The server implements it (TurnpikeServer, over TurnpikeRedis); plugins only call `run`.
public protocol SharedCounters: AnyObject, Sendable {
    /// Runs `commands` (pipelined where the store can) and calls `completion` once with one
    /// count per command, in order, or the failure. Call on an event loop; `completion` runs on
    /// the same loop, possibly before `run` returns. Never blocks.
    func run(
        _ commands: [SharedCounterCommand],
        completion: @escaping @Sendable (Result<[Int64], SharedCountersFailure>) -> Void
    )
    /// Runs `body` once after `delay`, on the calling event loop (rate-limiting's sync timer).
    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void)
}

/// One counter operation.
public enum SharedCounterCommand: Sendable, Equatable {
    /// Adds 1 and answers the count before it; a key the add creates expires after `expiry`
    /// seconds (rate-limiting's usage script: counting and reading in one step, so concurrent
    /// gateways never both see the last free slot).
    case countBeforeIncrement(key: String, expiry: Int64)
    /// Adds `amount` (may be negative) and answers the new count; a key the add creates expires
    /// after `expiry` seconds.
    case add(key: String, amount: Int64, expiry: Int64)
    /// Answers the count (0 for a missing key).
    case get(key: String)
    /// Adds `amount` and answers the new count; a key the add creates expires at `expireAt`
    /// (Unix seconds): rate-limiting's sync of a node's counts.
    case addUntil(key: String, amount: Int64, expireAt: Int64)
}

/// Why the shared store did not answer (unreachable, timed out, refused the command).
public struct SharedCountersFailure: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Makes the `SharedCounters` for a plugin's Redis settings (the server supplies one; without
/// it, as in `validate`, every call fails).
public protocol SharedCountersProvider: Sendable {
    func counters(for settings: RedisSettings) -> any SharedCounters
}

/// The store when the process has no provider (`validate`, `render`, unit tests without one):
/// every call fails at once.
final class UnavailableSharedCounters: SharedCounters {
    func run(
        _ commands: [SharedCounterCommand],
        completion: @escaping @Sendable (Result<[Int64], SharedCountersFailure>) -> Void
    ) {
        completion(.failure(SharedCountersFailure("no shared store in this process")))
    }

    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) {}
}
