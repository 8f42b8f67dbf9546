import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TurnpikeEngine
import TurnpikeModel
import TurnpikeServer
import TurnpikeYAML
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// `turnpike start`: the gateway in the foreground.
struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Run the gateway in the foreground (logs on stderr).",
        discussion: """
            SIGHUP reloads the config file; SIGTERM and SIGINT stop accepting, let in-flight requests \
            finish (at most --drain-timeout) and exit 0. An invalid config at start prints every error \
            and exits 1 before anything is bound.
            """
    )

    @Option(help: "The declarative config file (default: $KONG_DECLARATIVE_CONFIG).")
    var config: String?

    @Option(
        help: """
            Proxy listeners in Kong's proxy_listen syntax, comma-separated: ADDRESS:PORT [ssl] \
            [http2] [reuseport] [backlog=N] [bind], or off (default: $KONG_PROXY_LISTEN, else \
            "0.0.0.0:8000, 0.0.0.0:8443 ssl").
            """
    )
    var proxyListen: String?

    @Option(help: "PEM certificate chain for ssl listeners (default: $KONG_SSL_CERT, else a self-signed one).")
    var sslCert: String?

    @Option(help: "PEM private key of --ssl-cert (default: $KONG_SSL_CERT_KEY).")
    var sslCertKey: String?

    @Option(help: "Admin listen address HOST:PORT (default: $KONG_ADMIN_LISTEN, else 127.0.0.1:8001).")
    var adminListen: String?

    @Option(help: "Event loops (default: one per core).")
    var workers: Int?

    @Option(help: "Seconds in-flight requests get to finish on SIGTERM/SIGINT.")
    var drainTimeout: Int = 30

    @Option(help: "Longest request target in bytes (longer: 414).")
    var maxUriSize: Int = 8 * 1024

    @Option(help: "Largest request header section in bytes (larger: 400, as nginx's 4 x 8k buffers).")
    var maxHeaderSize: Int = 32 * 1024

    @Option(help: "Longest request header line in bytes, CRLF included (longer: 400, as nginx's 8k buffer).")
    var maxHeaderLineSize: Int = 8 * 1024

    @Option(help: "Request header fields the router and plugins read (Kong's lua_max_req_headers).")
    var maxHeaders: Int = 100

    @Option(help: "Seconds an idle keep-alive connection (or a slow request head) is kept.")
    var keepaliveTimeout: Int = 60

    @Option(help: "Largest config file accepted, in bytes.")
    var maxConfigSize: Int = YAMLLimits().maxBytes

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Memory for proxy-cache's responses: bytes, or with k/m/g (least recently used go first).")
    var cacheSize: String = "128m"

    @Option(help: "Access log on stderr: 'json' (Kong's log serializer entry, one line per request) or 'off'.")
    var accessLog: String = "off"

    func validate() throws {
        guard self.workers.map({ $0 > 0 && $0 <= 256 }) ?? true else {
            throw ValidationError("--workers must be between 1 and 256")
        }
        guard self.maxUriSize > 0, self.maxHeaderSize > 0, self.maxHeaderLineSize > 0, self.maxHeaders > 0 else {
            throw ValidationError(
                "--max-uri-size, --max-header-size, --max-header-line-size and --max-headers must be positive"
            )
        }
        guard self.drainTimeout >= 0 else { throw ValidationError("--drain-timeout must not be negative") }
        guard ByteSize.parse(self.cacheSize) != nil else {
            throw ValidationError("--cache-size: expected bytes, or a number with k, m or g ('128m')")
        }
        guard self.accessLog == "json" || self.accessLog == "off" else {
            throw ValidationError("--access-log: expected 'json' or 'off'")
        }
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("unknown --log-level '\(self.logLevel)'")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: self.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "turnpike.proxy")
        guard let path = self.config ?? Environment.get("KONG_DECLARATIVE_CONFIG") else {
            FileHandleStandardError.write(
                "turnpike: no config file: pass --config FILE or set KONG_DECLARATIVE_CONFIG\n"
            )
            throw ExitCode(2)
        }
        let listeners: [ProxyListener]
        let admin: ListenAddress
        do {
            listeners = try ProxyListener.parseList(
                self.proxyListen ?? Environment.get("KONG_PROXY_LISTEN") ?? ProxyListener.kongDefault
            )
            admin = try ListenAddress.parse(
                self.adminListen ?? Environment.get("KONG_ADMIN_LISTEN") ?? "127.0.0.1:8001"
            )
        } catch {
            FileHandleStandardError.write("turnpike: \(error)\n")
            throw ExitCode(2)
        }
        let loader = ConfigLoader.serving(
            limits: YAMLLimits(maxBytes: self.maxConfigSize),
            responseCacheBytes: ByteSize.parse(self.cacheSize) ?? 128 << 20,
            logger: Logger(label: "turnpike.redis")
        )
        let snapshot: Snapshot
        switch loader.load(path: path) {
        case .valid(let s):
            snapshot = s
        case .invalid(let errors):
            FileHandleStandardError.write(errors.printed(file: path))
            throw ExitCode(1)
        case .unreadable(let message):
            FileHandleStandardError.write("turnpike: \(message)\n")
            throw ExitCode(1)
        }
        for warning in snapshot.warnings { logger.warning("\(warning)") }
        logger.notice(
            "configuration loaded",
            metadata: ["config.file": "\(path)", "config.hash": "\(snapshot.hash)", "config.generation": "1"]
        )

        let certificate = try Self.certificate(
            for: listeners,
            certFile: self.sslCert ?? Environment.get("KONG_SSL_CERT"),
            keyFile: self.sslCertKey ?? Environment.get("KONG_SSL_CERT_KEY"),
            logger: logger
        )
        for listener in listeners where listener.http2Requested {
            logger.warning(
                "http2 is not served yet: this listener speaks HTTP/1.1 (ALPN offers http/1.1 only)",
                metadata: ["listen": "\(listener)"]
            )
        }

        var proxyConfiguration = ProxyConfiguration()
        proxyConfiguration.maxURIBytes = self.maxUriSize
        proxyConfiguration.maxHeaderBytes = self.maxHeaderSize
        proxyConfiguration.maxHeaderLineBytes = self.maxHeaderLineSize
        proxyConfiguration.maxHeaderCount = self.maxHeaders
        proxyConfiguration.keepAliveTimeout = .seconds(Int64(self.keepaliveTimeout))
        proxyConfiguration.serverToken = TurnpikeVersion.token
        if self.accessLog == "json" {
            proxyConfiguration.accessLog = LineWriter(fd: 2, name: "turnpike-access-log")
        }

        Self.raiseOpenFileLimit(logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: self.workers ?? System.coreCount)
        let gateway = Gateway(
            options: Gateway.Options(
                configPath: path,
                proxyListeners: listeners,
                certificate: certificate,
                adminHost: admin.host,
                adminPort: admin.port,
                drainTimeout: .seconds(self.drainTimeout),
                proxy: proxyConfiguration
            ),
            group: group,
            initial: snapshot,
            loader: loader,
            logger: logger
        )
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: gateway, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "turnpike.lifecycle")
            )
        )
        do {
            try await services.run()
        } catch {
            logger.error("gateway failed", metadata: ["error": "\(error)"])
            try? await group.shutdownGracefully()
            throw ExitCode(1)
        }
        try? await group.shutdownGracefully()
        // What the last requests logged goes out before the process ends.
        proxyConfiguration.accessLog?.waitUntilWritten()
        proxyConfiguration.accessLog?.stop()
    }
}

extension StartCommand {
    /// The certificate `ssl` listeners present: Kong's `ssl_cert`/`ssl_cert_key` when given (both
    /// or neither), else one generated in memory for `localhost`, as Kong generates its default.
    static func certificate(
        for listeners: [ProxyListener],
        certFile: String?,
        keyFile: String?,
        logger: Logger
    ) throws -> ServerCertificate? {
        guard listeners.contains(where: \.ssl) else { return nil }
        switch (certFile, keyFile) {
        case (let cert?, let key?):
            do {
                return try ServerCertificate.load(certificateFile: cert, keyFile: key)
            } catch {
                FileHandleStandardError.write("turnpike: \(error)\n")
                throw ExitCode(2)
            }
        case (nil, nil):
            do {
                let generated = try ServerCertificate.selfSigned()
                logger.notice("ssl listeners present a self-signed certificate for localhost (no --ssl-cert)")
                return generated
            } catch {
                FileHandleStandardError.write("turnpike: cannot generate the default certificate: \(error)\n")
                throw ExitCode(1)
            }
        default:
            FileHandleStandardError.write("turnpike: --ssl-cert and --ssl-cert-key go together\n")
            throw ExitCode(2)
        }
    }

    /// Every client and upstream connection is a file descriptor: take the hard limit, as nginx's
    /// `worker_rlimit_nofile` does, so 10,000+ concurrent connections fit.
    static func raiseOpenFileLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        logger.info("open file limit", metadata: ["limit": "\(limit.rlim_cur)"])
    }
}

/// The admin listener: `HOST:PORT` or `[v6]:PORT`.
struct ListenAddress: Equatable {
    var host: String
    var port: Int

    struct Invalid: Error, CustomStringConvertible {
        var text: String
        var description: String { "invalid listen address '\(text)' (expected HOST:PORT)" }
    }

    /// Kong's `admin_listen` form is accepted too: its first entry without `ssl` is used (the
    /// admin API has no TLS listener).
    static func parse(_ text: String) throws(Invalid) -> ListenAddress {
        guard let entries = try? ProxyListener.parseList(text, setting: "admin_listen"),
            let entry = entries.first(where: { !$0.ssl })
        else { throw Invalid(text: text) }
        return ListenAddress(host: entry.host, port: entry.port)
    }
}

enum Environment {
    static func get(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let s = String(cString: value)
        return s.isEmpty ? nil : s
    }
}
