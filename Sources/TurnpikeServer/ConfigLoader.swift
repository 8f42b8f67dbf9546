import Crypto
public import Logging
public import TurnpikeEngine
public import TurnpikeModel
public import TurnpikePlugins
public import TurnpikeYAML

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads config files into snapshots: read, hash, parse, decode, build. The one load path that
/// `start`, reloads, `validate` and `render` all share.
///
/// Blocking file I/O: call it off the event loops.
public struct ConfigLoader: Sendable {
    /// The outcome of checking one file.
    public enum Outcome: Sendable {
        case valid(Snapshot)
        /// Every problem, sorted by position.
        case invalid([ConfigError])
        /// The file could not be read at all (missing, a directory, no permission).
        case unreadable(String)
    }

    public var limits: YAMLLimits
    public var builder: SnapshotBuilder
    /// Set by a running gateway: each loaded snapshot's upstream TLS contexts are made here, off
    /// the event loops (`validate` and `render` leave it nil).
    public var tlsContexts: UpstreamTLSContexts?

    public init(limits: YAMLLimits = YAMLLimits(), builder: SnapshotBuilder = SnapshotBuilder()) {
        self.limits = limits
        self.builder = builder
    }

    /// The loader of a running gateway: snapshots come with their upstream TLS contexts and
    /// certificates compiled, plugins' `redis` policies reach Redis (logging to `logger`), and
    /// proxy-cache holds up to `responseCacheBytes`.
    public static func serving(
        limits: YAMLLimits = YAMLLimits(),
        registry: PluginRegistry = .builtIn,
        responseCacheBytes: Int = 128 << 20,
        logger: Logger
    ) -> ConfigLoader {
        var loader = ConfigLoader(
            limits: limits,
            builder: SnapshotBuilder(
                registry: registry,
                stores: PluginStores(
                    sharedCounters: RedisSharedCountersProvider(logger: logger),
                    responseCacheBytes: responseCacheBytes
                )
            )
        )
        loader.tlsContexts = UpstreamTLSContexts()
        loader.builder.compileCertificate = ServerTLS.compile
        return loader
    }

    /// Reads, parses and builds `path`; `generation` is stamped into the snapshot.
    public func load(path: String, generation: Int = 1) -> Outcome {
        switch Self.readFile(path, maxBytes: self.limits.maxBytes) {
        case .failure(let message): return .unreadable(message)
        case .success(let bytes): return self.compile(bytes, file: path, generation: generation)
        }
    }

    /// How long each stage of the last `compile` took; filled only when `timings` is set.
    public struct Timings: Sendable {
        public var parse: Duration = .zero
        public var decode: Duration = .zero
        public var build: Duration = .zero

        public init() {}
    }

    /// Parses and builds bytes already read; `file` names them in errors.
    public func compile(_ bytes: [UInt8], file: String, generation: Int = 1) -> Outcome {
        var timings = Timings()
        return self.compile(bytes, file: file, generation: generation, timings: &timings)
    }

    /// `compile`, reporting the time spent in each stage.
    public func compile(_ bytes: [UInt8], file: String, generation: Int = 1, timings: inout Timings) -> Outcome {
        let clock = ContinuousClock()
        var mark = clock.now
        func lap() -> Duration {
            let now = clock.now
            defer { mark = now }
            return now - mark
        }
        let root: ConfigNode
        do {
            root = try YAMLFrontEnd.parse(bytes, file: file, limits: self.limits)
        } catch {
            return .invalid(error.sorted)
        }
        timings.parse = lap()
        let (model, decodeErrors) = Declarative.decodeCollectingErrors(
            root,
            credentialKinds: self.builder.registry.credentialKinds
        )
        timings.decode = lap()
        defer { timings.build = lap() }
        guard let model else { return .invalid(decodeErrors.sorted) }
        let diagnostics = Diagnostics()
        diagnostics.add(contentsOf: decodeErrors)
        if !decodeErrors.isEmpty {
            // Still run the builder's checks so plugin config errors show up in the same run.
            self.builder.check(model, diagnostics: diagnostics)
            return .invalid(diagnostics.errors.sorted)
        }
        do {
            let snapshot = try self.builder.build(model, hash: Self.md5Hex(bytes), generation: generation)
            self.tlsContexts?.prepare(snapshot)
            return .valid(snapshot)
        } catch {
            return .invalid(error.sorted)
        }
    }

    /// Kong's `configuration_hash`: lowercase hex md5 of the exact bytes.
    public static func md5Hex(_ bytes: [UInt8]) -> String {
        let digest = Insecure.MD5.hash(data: bytes)
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for b in digest {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public enum ReadResult: Sendable {
        case success([UInt8])
        case failure(String)
    }

    /// Reads a whole regular file, refusing more than `maxBytes` (the bound protects the process
    /// from a runaway file; raise it with `--max-config-size`).
    public static func readFile(_ path: String, maxBytes: Int) -> ReadResult {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure("cannot read \(path): \(Self.errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure("cannot read \(path): \(Self.errnoText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .failure("cannot read \(path): not a regular file") }
        if Int(st.st_size) > maxBytes {
            return .failure(
                "cannot read \(path): file is larger than \(maxBytes) bytes (raise it with --max-config-size)"
            )
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(st.st_size) + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure("cannot read \(path): \(Self.errnoText())")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > maxBytes {
                return .failure(
                    "cannot read \(path): file is larger than \(maxBytes) bytes (raise it with --max-config-size)"
                )
            }
        }
        return .success(out)
    }

    static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
