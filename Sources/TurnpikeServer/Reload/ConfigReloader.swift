public import Logging
import TurnpikeEngine
public import TurnpikeModel
import TurnpikeYAML

/// Re-reads the config file and publishes a new snapshot. An actor, so reloads never overlap;
/// reading, parsing and building run on the cooperative pool, never on an event loop.
public actor ConfigReloader {
    public enum Result: Sendable {
        /// Published: the new generation and hash, how long loading took, what changed.
        case reloaded(generation: Int, hash: String, duration: Duration, changes: ConfigChanges)
        /// The file has the same bytes as the running config: nothing to do.
        case unchanged(hash: String)
        /// The file is invalid or unreadable; the running config keeps serving. `errors` holds the
        /// first `reportedErrors` of `total` (sorted by position), so no answer or log line grows
        /// with the size of a bad file.
        case rejected(message: String, errors: [ConfigError], total: Int)

        static func rejected(_ message: String, errors: [ConfigError] = []) -> Result {
            .rejected(
                message: message,
                errors: Array(errors.prefix(ConfigReloader.reportedErrors)),
                total: errors.count
            )
        }
    }

    /// The most errors a rejected reload reports (`POST /reload`, `/status`, the log).
    public static let reportedErrors = 100

    private let path: String
    private let loader: ConfigLoader
    private let store: SnapshotStore
    private let logger: Logger
    private var generation: Int
    /// The last attempt and when it ended (Unix seconds), for the admin API's `/status`.
    public private(set) var lastResult: Result?
    public private(set) var lastReloadAt: Int?

    public init(path: String, loader: ConfigLoader, store: SnapshotStore, logger: Logger) {
        self.path = path
        self.loader = loader
        self.store = store
        self.logger = logger
        self.generation = store.current.generation
    }

    public func reload() async -> Result {
        let clock = ContinuousClock()
        let started = clock.now
        let result: Result
        var previous: Snapshot?
        switch ConfigLoader.readFile(self.path, maxBytes: self.loader.limits.maxBytes) {
        case .failure(let message):
            result = .rejected(message)
        case .success(let bytes):
            let hash = ConfigLoader.md5Hex(bytes)
            let current = self.store.current
            previous = current
            if hash == current.hash || (current.hash == String(repeating: "0", count: 32) && bytes.isEmpty) {
                result = .unchanged(hash: current.hash)
            } else {
                let loader = self.loader
                let path = self.path
                let nextGeneration = self.generation + 1
                // Parsing and building run on a background thread at a lower CPU priority, so that on
                // a busy machine the event loops keep serving while a big config loads.
                let outcome = await BackgroundWork.run { loader.compile(bytes, file: path, generation: nextGeneration) }
                switch outcome {
                case .valid(let snapshot):
                    if snapshot.hash == current.hash {
                        result = .unchanged(hash: current.hash)
                    } else {
                        do {
                            for warning in snapshot.warnings { self.logger.warning("\(warning)") }
                            try await self.store.publish(snapshot)
                            self.generation = snapshot.generation
                            let duration = clock.now - started
                            result = .reloaded(
                                generation: snapshot.generation,
                                hash: snapshot.hash,
                                duration: duration,
                                changes: ConfigChanges(from: current, to: snapshot)
                            )
                        } catch {
                            result = .rejected("could not publish the new configuration: \(error)")
                        }
                    }
                case .invalid(let errors):
                    result = .rejected("declarative config is invalid", errors: errors)
                case .unreadable(let message):
                    result = .rejected(message)
                }
            }
        }
        self.lastResult = result
        self.lastReloadAt = UnixTime.now()
        // The replaced snapshot is freed when its last request ends; the reloader's reference goes
        // in the background, so freeing a large config never delays the reply or an event loop.
        BackgroundWork.release(previous)
        switch result {
        case .reloaded(let generation, let hash, let duration, let changes):
            self.logger.notice(
                "configuration reloaded",
                metadata: [
                    "config.generation": "\(generation)", "config.hash": "\(hash)", "config.load_time": "\(duration)",
                    "config.changes": "\(changes.summary)",
                ]
            )
        case .unchanged(let hash):
            self.logger.notice("configuration unchanged", metadata: ["config.hash": "\(hash)"])
        case .rejected(let message, let errors, let total):
            self.logger.error(
                "configuration rejected, keeping the running one",
                metadata: ["reason": "\(message)", "config.errors": "\(total)"]
            )
            for e in errors { self.logger.error("\(e.description)") }
            if total > errors.count { self.logger.error("... and \(total - errors.count) more errors") }
        }
        return result
    }
}
