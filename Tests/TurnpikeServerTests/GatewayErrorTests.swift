import Testing
import TurnpikeEngine

/// How Kong picks an error body's format: `kong.response.error` (kong/pdk/response.lua) looks at
/// `Accept` only (JSON without one); the error handler (kong/error_handlers.lua), which renders
/// nginx's own errors and failed proxying, takes `Accept`, else `Content-Type`, else
/// `error_default_type` (text/plain).
@Suite struct GatewayErrorTests {
    @Test(
        arguments: [
            (nil, nil, false, GatewayError.Format.json),
            (nil, "text/html", false, .json),
            ("text/plain", nil, false, .text),
            ("text/html;q=0.5, application/xml", nil, false, .xml),
            ("*/*", nil, true, .json),
            (nil, nil, true, .text),
            (nil, "text/html; charset=utf-8", true, .html),
            (nil, "application/x-www-form-urlencoded", true, .json),
            ("application/json", "text/html", true, .json),
            ("", "text/plain", true, .text),
        ] as [(String?, String?, Bool, GatewayError.Format)]
    )
    func formatsAsKong(accept: String?, contentType: String?, errorPage: Bool, expected: GatewayError.Format) {
        #expect(GatewayError.format(accept: accept, contentType: contentType, errorPage: errorPage) == expected)
    }
}
