import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// request-termination's answers (kong/plugins/request-termination/handler.lua).
@Suite struct RequestTerminationTests {
    static func answer(
        _ config: RequestTerminationConfig,
        headers: [(String, String)] = [],
        query: Substring? = nil
    )
        -> AccessOutcome
    {
        var context = AccessContext(
            request: AccessRequest(method: "GET", headers: headers.map { (name: $0.0, value: $0.1) }, query: query),
            now: 0
        )
        return RequestTerminationPlugin(config: config).access(&context, directory: Directory())
    }

    static func body(_ outcome: AccessOutcome) -> String? {
        guard case .respond(let r) = outcome, case .bytes(let b) = r.body else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    @Test func messageBodyOrNothing() {
        let byDefault = Self.answer(RequestTerminationConfig())
        #expect(Self.body(byDefault) == "{\"message\":\"Service unavailable\"}")
        guard case .respond(let r) = byDefault else { return }
        #expect(r.status == 503 && r.header("content-type") == "application/json; charset=utf-8")

        var custom = RequestTerminationConfig()
        custom.statusCode = 418
        #expect(Self.answer(custom) == .respond(LocalResponse(status: 418, body: .none)))
        custom.message = "a \"teapot\""
        #expect(Self.body(Self.answer(custom)) == "{\"message\":\"a \\\"teapot\\\"\"}")

        var raw = RequestTerminationConfig()
        raw.statusCode = 200
        raw.body = "<h1>closed</h1>"
        raw.contentType = "text/html"
        let html = Self.answer(raw)
        #expect(Self.body(html) == "<h1>closed</h1>")
        guard case .respond(let h) = html else { return }
        #expect(h.status == 200 && h.header("content-type") == "text/html")
    }

    @Test func aTriggerInAHeaderOrTheQuery() {
        var config = RequestTerminationConfig()
        config.trigger = "X_Maintenance"
        #expect(Self.answer(config) == .proceed)
        #expect(Self.answer(config, headers: [("x-maintenance", "1")]) != .proceed)
        #expect(Self.answer(config, query: "a=1&X_Maintenance") != .proceed)
        #expect(Self.answer(config, query: "x_maintenance=1") == .proceed)
    }
}
