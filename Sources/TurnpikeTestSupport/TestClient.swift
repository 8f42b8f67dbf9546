import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately plain HTTP/1.1 client over a blocking socket: tests need to send exactly the
/// bytes they mean (malformed requests, pipelining, HTTP/1.0) and read exactly what came back.
public final class TestClient {
    public struct Response: Sendable {
        public var status: Int
        public var reason: String
        public var version: String
        /// Header names lower-cased, in order.
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            self.headers.first { $0.name == name.lowercased() }?.value
        }

        public func headers(_ name: String) -> [String] {
            self.headers.filter { $0.name == name.lowercased() }.map(\.value)
        }

        public var text: String { String(decoding: self.body, as: UTF8.self) }

        public var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(self.body))) as? [String: Any]
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to `127.0.0.1:port` with a receive timeout so a test can never hang.
    public init(port: Int, timeoutSeconds: Int = 10) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw Failure(description: "connect to \(port) failed")
        }
        self.fd = fd
    }

    deinit {
        close(self.fd)
    }

    public func send(_ text: String) throws {
        try self.send(Array(text.utf8))
    }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes {
                Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { throw Failure(description: "send failed") }
            offset += n
        }
    }

    /// Reads one response; `head` true when it answers a HEAD request (no body).
    public func readResponse(head: Bool = false) throws -> Response {
        while true {
            let (line, _) = try self.readLine()
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, let status = Int(parts[1]) else {
                throw Failure(description: "bad status line: \(line)")
            }
            var headers: [(name: String, value: String)] = []
            while true {
                let (h, _) = try self.readLine()
                if h.isEmpty { break }
                guard let colon = h.firstIndex(of: ":") else { throw Failure(description: "bad header: \(h)") }
                headers.append(
                    (h[..<colon].lowercased(), h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                )
            }
            var response = Response(
                status: status,
                reason: parts.count > 2 ? String(parts[2]) : "",
                version: String(parts[0]),
                headers: headers,
                body: []
            )
            if (100..<200).contains(status) && status != 101 { continue }
            if head || status == 204 || status == 304 { return response }
            if let te = response.header("transfer-encoding"), te.lowercased().contains("chunked") {
                while true {
                    let (sizeLine, _) = try self.readLine()
                    guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                        throw Failure(description: "bad chunk size \(sizeLine)")
                    }
                    if size == 0 {
                        while try !self.readLine().0.isEmpty {}
                        break
                    }
                    response.body += try self.readExactly(size)
                    _ = try self.readLine()
                }
            } else if let cl = response.header("content-length"), let n = Int(cl) {
                response.body = try self.readExactly(n)
            } else {
                response.body = try self.readToEnd()
            }
            return response
        }
    }

    /// Exactly `count` raw bytes (after an upgrade).
    public func readBytes(_ count: Int) throws -> [UInt8] {
        try self.readExactly(count)
    }

    /// True when the server closed the connection (reads EOF within the timeout).
    public func isClosedByPeer() -> Bool {
        if !self.buffer.isEmpty { return false }
        var byte: UInt8 = 0
        let n = recv(self.fd, &byte, 1, 0)
        return n == 0
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw Failure(description: "recv failed or timed out") }
        if n == 0 { return false }
        self.buffer += chunk[0..<n]
        return true
    }

    /// One line of the response (without its line ending), for interim responses.
    public func readRawLine() throws -> String {
        try self.readLine().0
    }

    private func readLine() throws -> (String, Bool) {
        while true {
            if let i = self.buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(self.buffer[..<i])
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                self.buffer.removeFirst(i + 1)
                return (String(decoding: line, as: UTF8.self), true)
            }
            guard try self.fill() else { throw Failure(description: "connection closed while reading a line") }
        }
    }

    private func readExactly(_ n: Int) throws -> [UInt8] {
        while self.buffer.count < n {
            guard try self.fill() else {
                throw Failure(description: "connection closed after \(self.buffer.count) of \(n) bytes")
            }
        }
        let out = Array(self.buffer[..<n])
        self.buffer.removeFirst(n)
        return out
    }

    private func readToEnd() throws -> [UInt8] {
        while try self.fill() {}
        let out = self.buffer
        self.buffer = []
        return out
    }

    /// One request on a fresh connection.
    public static func get(port: Int, _ path: String, headers: [String: String] = [:]) throws -> Response {
        let client = try TestClient(port: port)
        var text = "GET \(path) HTTP/1.1\r\n"
        if !headers.keys.contains(where: { $0.lowercased() == "host" }) { text += "Host: localhost\r\n" }
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        text += "\r\n"
        try client.send(text)
        return try client.readResponse()
    }
}

/// Runs blocking socket work on a Dispatch thread, off Swift's cooperative pool: a test blocked in
/// `recv` there could starve the gateway's own tasks (the admin API's `/status` and `/reload`
/// answer from a task), and the pool has as few threads as the machine has cores.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// Waits until `condition` holds, checking every 5 ms, at most `timeout`: for what happens on the
/// gateway's loops after a client already saw its answer (a log phase, a counter). Returns whether
/// it held, so a test asserts on it instead of sleeping a guessed time.
public func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        if ContinuousClock.now > deadline { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return true
}

/// `eventually` for synchronous tests (a child process's state read over its admin port).
public func eventuallySync(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        if ContinuousClock.now > deadline { return false }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return true
}
