import Foundation

/// The built `turnpike` binary running as a child process, for tests of signals and exit codes.
/// Its stderr is collected so tests can wait for a log line (such as the bound port).
public final class GatewayProcess: @unchecked Sendable {
    // Safety: `output` is only touched under `lock`; `process` is set up once before `run()`.
    private let process = Process()
    private let lock = NSLock()
    private var output = ""
    private let stderrPipe = Pipe()

    public init(arguments: [String]) throws {
        self.process.executableURL = CommandRunner.binary
        self.process.arguments = arguments
        self.process.currentDirectoryURL = CommandRunner.packageRoot
        self.process.standardOutput = FileHandle.nullDevice
        self.process.standardError = self.stderrPipe
        self.stderrPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.output += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
        try self.process.run()
    }

    deinit {
        if self.process.isRunning { self.process.terminate() }
        self.stderrPipe.fileHandleForReading.readabilityHandler = nil
    }

    public var stderr: String {
        self.lock.lock()
        defer { self.lock.unlock() }
        return self.output
    }

    public var pid: Int32 { self.process.processIdentifier }

    /// Waits until stderr contains `text` (true) or `seconds` pass (false).
    public func waitForOutput(_ text: String, seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if self.stderr.contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return self.stderr.contains(text)
    }

    /// The port from the first `<label> listening` log line (`...:PORT [...] <label> listening`).
    public func listeningPort(_ label: String) -> Int? {
        guard self.waitForOutput("\(label) listening") else { return nil }
        for line in self.stderr.split(separator: "\n") where line.contains("\(label) listening") {
            guard let range = line.range(of: "listen.address=") else { continue }
            let address = line[range.upperBound...].split(separator: " ").first ?? ""
            if let colon = address.lastIndex(of: ":") { return Int(address[address.index(after: colon)...]) }
        }
        return nil
    }

    /// The ports of every `<label> listening` line, in order, once `count` of them are logged.
    public func listeningPorts(_ label: String, count: Int) -> [Int] {
        var ports: [Int] = []
        for _ in 0..<200 {
            ports = []
            for line in self.stderr.split(separator: "\n") where line.contains("\(label) listening") {
                guard let range = line.range(of: "listen.address=") else { continue }
                let address = line[range.upperBound...].split(separator: " ").first ?? ""
                if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) {
                    ports.append(port)
                }
            }
            if ports.count >= count { return ports }
            usleep(50_000)
        }
        return ports
    }

    public func signal(_ sig: Int32) {
        kill(self.process.processIdentifier, sig)
    }

    /// Waits for the process to exit; nil when it is still running after `seconds`.
    public func waitForExit(seconds: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while self.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return self.process.isRunning ? nil : self.process.terminationStatus
    }
}
