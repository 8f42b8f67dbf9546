import TurnpikeModel

/// Kong's bodies for responses the gateway makes itself (no route, plugin rejections, upstream
/// failures), negotiated on `Accept` (kong/tools/http.lua's error templates, kong/error_handlers.lua).
public enum GatewayError {
    public enum Format: Sendable, Equatable {
        case json, text, html, xml

        public var contentType: String {
            switch self {
            case .json: return "application/json; charset=utf-8"
            case .text: return "text/plain; charset=utf-8"
            case .html: return "text/html; charset=utf-8"
            case .xml: return "application/xml; charset=utf-8"
            }
        }
    }

    /// Picks the format: the `Accept` entry with the highest `q` wins; unknown types, `*/*`,
    /// `application/*` and no header give JSON (`kong.response.error`). With `errorPage` (answers
    /// that Kong's error handler, kong/error_handlers.lua, renders: nginx's own 400/405/414/494
    /// and failed proxying) a request without `Accept` is negotiated on its `Content-Type`, and
    /// one with neither gets Kong's `error_default_type`, text/plain.
    public static func format(accept: String?, contentType: String? = nil, errorPage: Bool = false) -> Format {
        let header = accept.flatMap { $0.isEmpty ? nil : $0 } ?? (errorPage ? contentType : nil)
        guard let accept = header, !accept.isEmpty else {
            return errorPage ? .text : .json
        }
        var best: (format: Format, q: Double)?
        for item in accept.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard let typePart = parts.first else { continue }
            let type = typePart.trimmingSpaces().lowercased()
            var q = 1.0
            for param in parts.dropFirst() {
                let kv = param.trimmingSpaces()
                if kv.hasPrefix("q="), let v = Double(kv.dropFirst(2)) { q = v }
            }
            let format: Format
            switch type {
            case "text/plain", "text/*": format = .text
            case "text/html": format = .html
            case "application/xml", "text/xml": format = .xml
            default: format = .json
            }
            if q > (best?.q ?? -1) { best = (format, q) }
        }
        return best?.format ?? .json
    }

    /// The body bytes for `message`; the message is escaped for its format (Kong inserts it raw).
    public static func body(_ message: String, requestID: String, format: Format) -> String {
        switch format {
        case .json:
            var escaped = ""
            Rendered.writeJSONString(message, into: &escaped)
            return "{\n  \"message\":\(escaped),\n  \"request_id\":\"\(requestID)\"\n}"
        case .text:
            return "\(message)\nrequest_id: \(requestID)\n"
        case .html:
            return """
                <!doctype html>
                <html>
                  <head>
                    <meta charset="utf-8">
                    <title>Error</title>
                  </head>
                  <body>
                    <h1>Error</h1>
                    <p>\(escapeMarkup(message)).</p>
                    <p>request_id: \(requestID)</p>
                  </body>
                </html>

                """
        case .xml:
            return """
                <?xml version="1.0" encoding="UTF-8"?>
                <error>
                  <message>\(escapeMarkup(message))</message>
                  <requestid>\(requestID)</requestid>
                </error>

                """
        }
    }

    /// Kong's default message for a status it produces without one.
    public static func defaultMessage(status: Int) -> String {
        switch status {
        case 400: return "Bad request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not found"
        case 405: return "Method not allowed"
        case 411: return "Length required"
        case 413: return "Payload too large"
        case 414: return "URI too long"
        case 417: return "Expectation failed"
        case 429: return "Too many requests"
        case 431: return "Request header or cookie too large"
        case 500: return "An unexpected error occurred"
        case 502: return "An invalid response was received from the upstream server"
        case 503: return "The upstream server is currently unavailable"
        case 504: return "The upstream server is timing out"
        default: return "The upstream server responded with \(status)"
        }
    }

    static func escapeMarkup(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
