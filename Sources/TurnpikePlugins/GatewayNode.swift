public import TurnpikeModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// This process as Kong describes a node (kong/api/routes/kong.lua `GET /`, `kong.node`): for the
/// admin API and for request-termination's echo.
public enum GatewayNode {
    /// Drawn once per process (a random UUID, as Kong's node id in DB-less mode), so it stays the
    /// same across reloads and changes with a restart.
    public static let id = EntityID.random()

    public static let hostname: String = {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}

extension GatewayNode {
    /// This process's id (Kong's `ngx.worker.pid()`: Turnpike has one process).
    public static let pid = Int(getpid())
}
