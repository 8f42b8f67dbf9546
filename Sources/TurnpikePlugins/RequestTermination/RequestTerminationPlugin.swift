import TurnpikeModel

/// Kong's request-termination (kong/plugins/request-termination/handler.lua): answers every
/// request (or, with `trigger`, those carrying that header or query argument) with a fixed
/// response: the raw `body` with its `content_type`, else `{"message": ...}` as JSON (Kong's
/// `kong.response.exit` with a table), the message defaulting by status; with `echo`, a JSON
/// picture of the request and of the matched route and service (`RequestEcho`), for which the
/// body is read (up to `AccessRequest.bodyBufferLimit`).
public struct RequestTerminationPlugin: Plugin, AccessHandler {
    public static let name = "request-termination"
    public static let priority = 2
    public typealias Config = RequestTerminationConfig

    public let config: RequestTerminationConfig
    /// The answer, made once.
    let response: LocalResponse
    public var name: String { Self.name }

    public init(config: RequestTerminationConfig) {
        self.config = config
        if let body = config.body {
            self.response = LocalResponse(
                status: config.statusCode,
                headers: config.contentType.map { [(name: "Content-Type", value: $0)] } ?? [],
                body: .bytes(Array(body.utf8))
            )
        } else if let message = config.message ?? Self.defaultMessages[config.statusCode] {
            self.response = LocalResponse.exit(status: config.statusCode, json: [("message", message)])
        } else {
            self.response = LocalResponse(status: config.statusCode, body: .none)
        }
    }

    /// Kong's DEFAULT_RESPONSE.
    static let defaultMessages = [
        401: "Unauthorized", 404: "Not found", 405: "Method not allowed", 500: "An unexpected error occurred",
        502: "Bad Gateway", 503: "Service unavailable",
    ]

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        if let trigger = self.config.trigger {
            let request = context.request
            // Headers as ngx.req.get_headers() finds them (case-insensitive, `_` for `-`), then
            // the query's arguments by name.
            let inHeaders = request.headers.lookup(trigger) != nil
            let inQuery = request.query.map { QueryString.arguments($0).contains { $0.0 == trigger } } ?? false
            guard inHeaders || inQuery else { return .proceed }
        }
        if self.config.echo {
            let json = RequestEcho.json(
                message: self.config.message ?? Self.defaultMessages[self.config.statusCode],
                context: context,
                directory: directory
            )
            return .respond(
                LocalResponse(
                    status: self.config.statusCode,
                    headers: [(name: "Content-Type", value: "application/json; charset=utf-8")],
                    body: .bytes(Array(json.utf8))
                )
            )
        }
        return .respond(self.response)
    }

    public var needsBody: Bool { self.config.echo }
}
