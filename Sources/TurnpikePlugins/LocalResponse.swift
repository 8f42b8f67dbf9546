import TurnpikeModel

/// A response the gateway makes instead of proxying: a plugin's rejection (401, 403, 429), a
/// preflight answer, a cached response. Any status, any headers (repeats kept, in order), and a
/// body: Kong's error body for a message (JSON, text, HTML or XML by the client's `Accept`, with
/// the request id), bytes as they are, or none.
public struct LocalResponse: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        /// Kong's error template around `message` (`kong.response.error`).
        case message(String)
        /// These bytes as they are (`kong.response.exit` with a body); set a Content-Type.
        case bytes([UInt8])
        /// No body (a 204, a preflight answer).
        case none
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Kong's error answer: `message` in Kong's template; `headers` go out sorted by name.
    public init(status: Int, message: String, headers: [String: String] = [:]) {
        self.status = status
        self.headers = headers.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        self.body = .message(message)
    }

    /// Kong's `kong.response.exit(status, {k = v, …})`: the fields as compact JSON written as
    /// cjson writes it (`/` escaped as `\/`), `Content-Type: application/json; charset=utf-8`, no
    /// request id and no template by `Accept` (that is `kong.response.error`).
    public static func exit(
        status: Int,
        json fields: [(String, String)],
        headers: [(name: String, value: String)] = []
    ) -> LocalResponse {
        LocalResponse(
            status: status,
            headers: [(name: "Content-Type", value: "application/json; charset=utf-8")] + headers,
            body: .bytes(CJSON.encode(.object(fields.map { ($0.0, .string($0.1)) })))
        )
    }

    /// The message of an error answer (nil for other bodies).
    public var message: String? {
        if case .message(let text) = self.body { return text }
        return nil
    }

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        self.headers.first { HeaderName.equal($0.name, name) }?.value
    }

    public static func == (a: LocalResponse, b: LocalResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.count == b.headers.count
            && zip(a.headers, b.headers).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}
