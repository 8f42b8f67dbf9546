import Foundation

/// A real `redis-server` for tests, on a port of its own, no persistence; stopped by `stop()`.
/// `make test` installs the Debian package.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    private var process: Process
    private let binary: String
    private let arguments: [String]
    private let directory: URL

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// `password`: `requirepass`. `tls`: serve TLS (only) with this certificate, no client
    /// certificate asked.
    public init(password: String? = nil, tls: (certificatePEM: String, keyPEM: String)? = nil) throws {
        guard
            let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw Unavailable(description: "redis-server is not installed (make test installs it)")
        }
        self.binary = binary
        self.directory = try CommandRunner.temporaryDirectory()
        var common = [
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.directory.path, "--loglevel",
            "warning",
        ]
        if let password { common += ["--requirepass", password] }
        if let tls {
            let cert = self.directory.appendingPathComponent("redis.crt")
            let key = self.directory.appendingPathComponent("redis.key")
            try tls.certificatePEM.write(to: cert, atomically: true, encoding: .utf8)
            try tls.keyPEM.write(to: key, atomically: true, encoding: .utf8)
            common += ["--tls-cert-file", cert.path, "--tls-key-file", key.path, "--tls-auth-clients", "no"]
        }
        var lastError: (any Error)?
        for _ in 0..<5 {
            // Below Linux's ephemeral range (32768+), where outgoing connections take their ports.
            let port = Int.random(in: 10_000..<32_000)
            let arguments =
                (tls == nil ? ["--port", String(port)] : ["--port", "0", "--tls-port", String(port)]) + common
            do {
                let process = try Self.launch(binary, arguments)
                if Self.waitListening(port: port, process: process) {
                    self.port = port
                    self.process = process
                    self.arguments = arguments
                    return
                }
                process.terminate()
                lastError = Unavailable(description: "redis-server did not listen on \(port)")
            } catch {
                lastError = error
            }
        }
        throw lastError ?? Unavailable(description: "redis-server did not start")
    }

    private static func launch(_ binary: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    private static func waitListening(port: Int, process: Process) -> Bool {
        for _ in 0..<100 {
            guard process.isRunning else { return false }
            if (try? TestClient(port: port, timeoutSeconds: 1)) != nil {
                // Someone else may hold the port: a redis-server that could not bind exits at once.
                usleep(50_000)
                return process.isRunning
            }
            usleep(20_000)
        }
        return false
    }

    /// Kills the server (its data is lost, as with a crash); `restart` brings it back on the same
    /// port, empty.
    public func kill() {
        guard self.process.isRunning else { return }
        Glibc.kill(self.process.processIdentifier, SIGKILL)
        // Polling: Foundation's `waitUntilExit` can hang off the main thread on Linux.
        let deadline = Date().addingTimeInterval(5)
        while self.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    }

    /// Starts the server again on its port (after `kill`).
    public func restart() throws {
        self.kill()
        for _ in 0..<20 {
            let process = try Self.launch(self.binary, self.arguments)
            if Self.waitListening(port: self.port, process: process) {
                self.process = process
                return
            }
            // The port may still be in TIME_WAIT's grip for a moment.
            process.terminate()
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw Unavailable(description: "redis-server did not come back on \(self.port)")
    }

    /// Kills the server and removes its directory.
    public func stop() {
        self.kill()
        try? FileManager.default.removeItem(at: self.directory)
    }

    deinit { self.stop() }
}
