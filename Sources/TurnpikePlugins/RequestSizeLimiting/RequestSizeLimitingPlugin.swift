import TurnpikeModel

/// Kong's request-size-limiting (kong/plugins/request-size-limiting/handler.lua): a declared
/// `Content-Length` over the limit answers 413 (417 when the client waits for `100 Continue`)
/// before any body byte is read. A body without a length (chunked) is counted as it streams to
/// the upstream (`UpstreamEdits.bodyLimit`): the first byte past the limit ends the upstream
/// request and answers the same 413/417, where Kong reads the whole body first and then checks
/// it (the client's answer is the same; Turnpike never holds the body to count it).
/// `require_content_length` answers 411 for a request with neither a length nor chunked framing.
public struct RequestSizeLimitingPlugin: Plugin, AccessHandler {
    public static let name = "request-size-limiting"
    public static let priority = 951
    public typealias Config = RequestSizeLimitingConfig

    public let config: RequestSizeLimitingConfig
    let allowedBytes: Int64
    public var name: String { Self.name }

    public init(config: RequestSizeLimitingConfig) {
        self.config = config
        self.allowedBytes = config.allowedBytes
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        let request = context.request
        // Kong: `Expect` lower-cased and stripped, equal to 100-continue.
        let status =
            request.header("expect").map { Substring($0).kongStripped.lowercased() == "100-continue" } == true
            ? 417 : 413
        if let declared = request.header("content-length"), let length = Int64(Substring(declared).kongStripped) {
            guard length > self.allowedBytes else { return .proceed }
            return .respond(LocalResponse(status: status, message: "Request size limit exceeded"))
        }
        // Kong compares the header's value with "chunked" as it is.
        if self.config.requireContentLength && request.header("transfer-encoding") != "chunked" {
            return .respond(LocalResponse(status: 411, message: "A valid Content-Length header is required"))
        }
        let limit = UpstreamEdits.BodyLimit(
            maxBytes: self.allowedBytes,
            status: status,
            message: "Request size limit exceeded"
        )
        // The tightest of several limits wins.
        if let current = context.edits.bodyLimit, current.maxBytes <= limit.maxBytes { return .proceed }
        context.edits.bodyLimit = limit
        return .proceed
    }
}
