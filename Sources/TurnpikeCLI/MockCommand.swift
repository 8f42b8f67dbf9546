import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import TurnpikeServer

/// `turnpike mock`: a local request-echo upstream for demos and `make run`.
struct MockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock",
        abstract: "Run a request-echo upstream (JSON of method, url, path, query, headers, body).",
        discussion: "Also: /status/<code>, /delay/<ms>, /bytes/<n>, /stream/<n> (no Content-Length)."
    )

    @Option(help: "Listen address HOST:PORT.")
    var listen: String = "127.0.0.1:9000"

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "turnpike.mock")
        let address: ListenAddress
        do {
            address = try ListenAddress.parse(self.listen)
        } catch {
            FileHandleStandardError.write("turnpike: \(error)\n")
            throw ExitCode(2)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await MockServer.start(host: address.host, port: address.port, group: group, logger: logger)
        // Runs until the process is stopped.
        try await server.channel.closeFuture.get()
    }
}
