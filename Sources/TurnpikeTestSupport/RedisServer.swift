import Foundation

/// A real `redis-server` for tests, on a port of its own, no persistence; stopped by `stop()`.
/// `make test` installs the Debian package.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    private let process: Process
    private let directory: URL

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// `password`: `requirepass`.
    public init(password: String? = nil) throws {
        guard
            let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw Unavailable(description: "redis-server is not installed (make test installs it)")
        }
        self.directory = try CommandRunner.temporaryDirectory()
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            var arguments = [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.directory.path, "--loglevel", "warning",
            ]
            if let password { arguments += ["--requirepass", password] }
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                lastError = error
                continue
            }
            if Self.waitListening(port: port, process: process) {
                self.port = port
                self.process = process
                return
            }
            process.terminate()
            lastError = Unavailable(description: "redis-server did not listen on \(port)")
        }
        throw lastError ?? Unavailable(description: "redis-server did not start")
    }

    private static func waitListening(port: Int, process: Process) -> Bool {
        for _ in 0..<100 {
            guard process.isRunning else { return false }
            if (try? TestClient(port: port, timeoutSeconds: 1)) != nil { return true }
            usleep(20_000)
        }
        return false
    }

    /// Kills the server (nothing of it is kept) and waits by polling (Foundation's
    /// `waitUntilExit` can hang off the main thread on Linux).
    public func stop() {
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
            let deadline = Date().addingTimeInterval(5)
            while self.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        }
        try? FileManager.default.removeItem(at: self.directory)
    }

    deinit { self.stop() }
}
