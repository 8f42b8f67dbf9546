import Testing
import TurnpikeModel
import TurnpikePlugins

/// key-auth with `key_in_body` (kong/plugins/key-auth/handler.lua, kong/pdk/request.lua `get_body`) and the body readers behind it.
@Suite struct KeyAuthBodyTests {
    static let form = "application/x-www-form-urlencoded"

    func run(
        _ config: KeyAuthConfig,
        headers: [(String, String)] = [],
        query: String? = nil,
        body: String? = nil,
        contentType: String? = form
    ) -> (AccessOutcome, AccessContext) {
        var all = headers
        if let contentType, body != nil { all.append(("Content-Type", contentType)) }
        var context = AccessContext(
            request: AccessRequest(
                method: "POST",
                headers: all.map { ($0.0, $0.1) },
                query: query.map { Substring($0) },
                body: body.map { Array($0.utf8) }
            ),
            now: 0
        )
        let outcome = KeyAuthPlugin(config: config).access(&context, directory: KeyAuthPluginTests.directory())
        return (outcome, context)
    }

    static func config(header: Bool, query: Bool, body: Bool) -> KeyAuthConfig {
        var c = KeyAuthConfig()
        c.keyInHeader = header
        c.keyInQuery = query
        c.keyInBody = body
        return c
    }

    enum Given: CaseIterable { case absent, right, wrong }

    /// Kong's key-location matrix (its key-auth access spec): the key sent in the header, the query
    /// and a form body (each absent, right or wrong) against 7 settings of the three flags. The
    /// rule: the first enabled location that holds the name decides.
    @Test func keyLocationMatrix() {
        let flagSets: [(Bool, Bool, Bool)] = [
            (true, true, true), (true, true, false), (true, false, false), (false, false, false),
            (false, false, true), (true, false, true), (false, true, false),
        ]
        var inputs: [(Given, Given, Given)] = []
        for h in Given.allCases { for q in Given.allCases { for b in Given.allCases { inputs.append((h, q, b)) } } }
        // Kong's table takes 24 of these 27 inputs (168 cases); all 27 are checked here (189).
        var cases = 0
        for (h, q, b) in inputs {
            for (fh, fq, fb) in flagSets {
                let value: (Given) -> String? = { $0 == .absent ? nil : ($0 == .right ? "secret" : "wrong") }
                var headers: [(String, String)] = []
                if let v = value(h) { headers.append(("apikey", v)) }
                let query = value(q).map { "apikey=\($0)" }
                let body = value(b).map { "apikey=\($0)" }
                let (outcome, _) = self.run(
                    Self.config(header: fh, query: fq, body: fb),
                    headers: headers,
                    query: query,
                    body: body
                )
                // The oracle: the first enabled location that has the key decides.
                var decided: Given = .absent
                for (flag, given) in [(fh, h), (fq, q), (fb, b)] where flag && given != .absent {
                    decided = given
                    break
                }
                let expected = decided == .right ? 200 : 401
                let got = outcome == .proceed ? 200 : (status(outcome) ?? 0)
                #expect(got == expected, "header \(h) query \(q) body \(b), flags \(fh) \(fq) \(fb)")
                cases += 1
            }
        }
        #expect(cases == 189)
        // Rows of Kong's table that pin the rule: a right body key counts only where the body is
        // searched and nothing before it holds the name.
        #expect(
            self.run(
                Self.config(header: false, query: false, body: true),
                headers: [("apikey", "wrong")],
                query: "apikey=wrong",
                body: "apikey=secret"
            ).0 == .proceed
        )
        #expect(
            status(
                self.run(
                    Self.config(header: true, query: false, body: true),
                    headers: [("apikey", "wrong")],
                    body: "apikey=secret"
                ).0
            ) == 401
        )
        #expect(
            self.run(Self.config(header: true, query: false, body: true), query: "apikey=wrong", body: "apikey=secret")
                .0 == .proceed
        )
    }

    @Test func jsonAndMultipartBodies() {
        let c = Self.config(header: true, query: true, body: true)
        #expect(
            self.run(
                c,
                body: #"{"x": [1, {"a": null}], "apikey": "secret"}"#,
                contentType: "application/json; charset=utf-8"
            ).0 == .proceed
        )
        #expect(
            message(self.run(c, body: #"{"apikey": ["secret"]}"#, contentType: "application/json").0)
                == "Duplicate API key found"
        )
        #expect(
            message(self.run(c, body: #"{"apikey": {"k": 1}}"#, contentType: "application/json").0)
                == "Duplicate API key found"
        )
        // No text: the next key name is tried; none left, so no key.
        #expect(
            message(self.run(c, body: #"{"apikey": 12}"#, contentType: "application/json").0)
                == "No API key found in request"
        )
        #expect(
            message(self.run(c, body: #"{"apikey": "secret""#, contentType: "application/json").0)
                == "No API key found in request"
        )
        #expect(
            message(self.run(c, body: #"["apikey"]"#, contentType: "application/json").0)
                == "No API key found in request"
        )
        #expect(self.run(c, body: #"{"apikey": "s\u0065cret"}"#, contentType: "application/json").0 == .proceed)
        let multipart =
            "--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\n1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\nsecret\r\n--XyZ--\r\n"
        #expect(self.run(c, body: multipart, contentType: "multipart/form-data; boundary=XyZ").0 == .proceed)
        #expect(self.run(c, body: multipart, contentType: "Multipart/Form-Data; boundary=\"XyZ\"").0 == .proceed)
        // Other or missing content types have no fields.
        #expect(
            message(self.run(c, body: "apikey=secret", contentType: "text/plain").0) == "No API key found in request"
        )
        #expect(message(self.run(c, body: "apikey=secret", contentType: nil).0) == "No API key found in request")
        #expect(message(self.run(c, body: "apikey=a&apikey=b").0) == "Duplicate API key found")
        #expect(message(self.run(c, body: "apikey").0) == "No API key found in request")
        // Off by default: a body key is not looked at.
        #expect(message(self.run(KeyAuthConfig(), body: "apikey=secret").0) == "No API key found in request")
    }

    @Test func hideCredentialsCutsTheFieldFromTheBody() {
        var c = Self.config(header: true, query: true, body: true)
        c.hideCredentials = true
        let (o1, form) = self.run(c, body: "a=1&apikey=secret&b=2")
        #expect(o1 == .proceed)
        #expect(form.edits.body.map { String(decoding: $0, as: UTF8.self) } == "a=1&b=2")
        let (_, last) = self.run(c, body: "a=1&apikey=secret")
        #expect(last.edits.body.map { String(decoding: $0, as: UTF8.self) } == "a=1")
        // The key came from the header: the body is cleaned all the same.
        let (o2, json) = self.run(
            c,
            headers: [("apikey", "secret")],
            body: #"{"a": 1, "apikey": "x", "b": [2]}"#,
            contentType: "application/json"
        )
        #expect(o2 == .proceed)
        #expect(json.edits.body.map { String(decoding: $0, as: UTF8.self) } == #"{"a": 1, "b": [2]}"#)
        let (_, first) = self.run(c, body: #"{"apikey": "secret", "b": 2}"#, contentType: "application/json")
        #expect(first.edits.body.map { String(decoding: $0, as: UTF8.self) } == #"{"b": 2}"#)
        let multipart =
            "--B\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\nsecret\r\n--B\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--B--\r\n"
        let (_, mp) = self.run(c, body: multipart, contentType: "multipart/form-data; boundary=B")
        #expect(
            mp.edits.body.map { String(decoding: $0, as: UTF8.self) }
                == "--B\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--B--\r\n"
        )
        // No field by that name: the body is left alone.
        let (_, none) = self.run(c, headers: [("apikey", "secret")], body: "a=1")
        #expect(none.edits.body == nil)
    }

    @Test func jsonReaderIsStrictAndBounded() {
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        #expect(BodyFields.parse(Array("{\"a\": \(deep)}".utf8), contentType: "application/json") == nil)
        for bad in [
            #"{"a": 01}"#, #"{"a": 1,}"#, #"{"a" 1}"#, #"{"a": "\x"}"#, #"{"a": tru}"#, #"{"a": "\ud800"}"#, "{} x",
        ] {
            #expect(BodyFields.parse(Array(bad.utf8), contentType: "application/json") == nil, "\(bad)")
        }
        let ok = BodyFields.parse(
            Array(#"{"a": -1.5e3, "b": "\ud83d\ude00", "c": true}"#.utf8),
            contentType: "application/json"
        )
        #expect(ok?.value(named: "b") == .text("😀"))
        #expect(ok?.value(named: "a") == .noText)
    }
}

@Suite struct BodyFieldsEdgeTests {
    @Test func truncatedMultipartPartsAreSkipped() {
        // A blank line right before the next delimiter: no value, no crash.
        let body = Array("--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n--b--".utf8)
        let fields = BodyFields.parse(body, contentType: "multipart/form-data; boundary=b")
        #expect(fields?.value(named: "k") == nil || fields?.value(named: "k") == .text(""))
    }
}
