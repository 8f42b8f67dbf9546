import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// request-size-limiting (kong/plugins/request-size-limiting/handler.lua) on hand-built requests.
@Suite struct RequestSizeLimitingTests {
    static func run(
        _ configure: (inout RequestSizeLimitingConfig) -> Void = { _ in },
        headers: [(String, String)]
    ) -> (AccessOutcome, UpstreamEdits) {
        var config = RequestSizeLimitingConfig()
        configure(&config)
        var context = AccessContext(
            request: AccessRequest(method: "POST", headers: headers.map { (name: $0.0, value: $0.1) }, query: nil),
            now: 0
        )
        let outcome = RequestSizeLimitingPlugin(config: config).access(&context, directory: Directory())
        return (outcome, context.edits)
    }

    static func status(_ outcome: AccessOutcome) -> Int? {
        if case .respond(let r) = outcome { return r.status }
        return nil
    }

    @Test func aDeclaredLengthIsCheckedBeforeTheBody() {
        let small: (inout RequestSizeLimitingConfig) -> Void = {
            $0.allowedPayloadSize = 2
            $0.sizeUnit = "kilobytes"
        }
        #expect(Self.run(small, headers: [("Content-Length", "2048")]).0 == .proceed)
        let over = Self.run(small, headers: [("Content-Length", "2049")]).0
        #expect(over == .respond(LocalResponse(status: 413, message: "Request size limit exceeded")))
        // A client waiting for 100 Continue gets 417.
        #expect(
            Self.status(Self.run(small, headers: [("Content-Length", "9999"), ("Expect", " 100-Continue ")]).0) == 417
        )
        // The default: 128 megabytes.
        #expect(Self.run(headers: [("Content-Length", "134217728")]).0 == .proceed)
        #expect(Self.status(Self.run(headers: [("Content-Length", "134217729")]).0) == 413)
    }

    @Test func aBodyWithoutLengthIsCountedAsItStreams() {
        let (outcome, edits) = Self.run(
            {
                $0.allowedPayloadSize = 10; $0.sizeUnit = "bytes"
            },
            headers: [("Transfer-Encoding", "chunked")]
        )
        #expect(outcome == .proceed)
        #expect(edits.bodyLimit == .init(maxBytes: 10, status: 413, message: "Request size limit exceeded"))
    }

    @Test func requireContentLength() {
        let strict: (inout RequestSizeLimitingConfig) -> Void = { $0.requireContentLength = true }
        #expect(
            Self.run(strict, headers: []).0
                == .respond(LocalResponse(status: 411, message: "A valid Content-Length header is required"))
        )
        #expect(Self.run(strict, headers: [("Transfer-Encoding", "chunked")]).0 == .proceed)
        #expect(Self.run(strict, headers: [("Content-Length", "0")]).0 == .proceed)
    }

    @Test func unitsAndOverflow() {
        var config = RequestSizeLimitingConfig()
        #expect(config.allowedBytes == 128 * 1_048_576)
        config.sizeUnit = "kilobytes"
        #expect(config.allowedBytes == 128 * 1024)
        config.allowedPayloadSize = .max
        config.sizeUnit = "megabytes"
        #expect(config.allowedBytes == .max)
    }
}
