import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// request-transformer (kong/plugins/request-transformer/access.lua) on hand-built requests.
@Suite struct RequestTransformerTests {
    static func entries(_ list: [String], values: Bool = true) -> [RequestTransformerConfig.Entry] {
        list.map { text in
            guard values, let colon = text.firstIndex(of: ":") else {
                return RequestTransformerConfig.Entry(name: text, value: nil, text: text)
            }
            let value = String(text[colon...].drop { $0 == ":" })
            return RequestTransformerConfig.Entry(
                name: String(text[..<colon]),
                value: try? ValueTemplate.parse(value).get(),
                text: text
            )
        }
    }

    static func run(
        _ configure: (inout RequestTransformerConfig) -> Void,
        method: String = "GET",
        headers: [(String, String)] = [],
        query: Substring? = nil,
        body: String? = nil,
        captures: URICaptures = URICaptures()
    ) -> (AccessOutcome, UpstreamEdits) {
        var config = RequestTransformerConfig()
        configure(&config)
        var context = AccessContext(
            request: AccessRequest(
                method: method,
                headers: headers.map { (name: $0.0, value: $0.1) },
                query: query,
                body: body.map { Array($0.utf8) }
            ),
            now: 0
        )
        context.request.uriCaptures = captures
        let outcome = RequestTransformerPlugin(config: config).access(&context, directory: Directory())
        return (outcome, context.edits)
    }

    @Test func templates() throws {
        #expect(try ValueTemplate.parse("plain").get().isPlain)
        let t = try ValueTemplate.parse(#"v=$(headers["x-a"] or query_params.b or "none")!"#).get()
        #expect(t.render { term in term == .header("x-a") ? "A" : nil } == "v=A!")
        #expect(t.render { term in term == .query("b") ? "B" : nil } == "v=B!")
        #expect(t.render { _ in nil } == "v=none!")
        #expect(try ValueTemplate.parse("$(uri_captures[1])-$(uri_captures.id)").get().pieces.count == 3)
        #expect(try ValueTemplate.parse("$('$(escaped)')").get().render { _ in nil } == "$(escaped)")
        // Nothing found renders empty (Penlight's `(expr or '')`).
        #expect(try ValueTemplate.parse("[$(headers.missing)]").get().render { _ in nil } == "[]")
        // Lua is not run here.
        guard case .failure = ValueTemplate.parse("$(os.time())") else {
            Issue.record("a Lua call was accepted")
            return
        }
        guard case .failure = ValueTemplate.parse("$(headers.x") else {
            Issue.record("an unclosed template was accepted")
            return
        }
    }

    @Test func headersInKongsOrder() {
        let (_, edits) = Self.run(
            {
                $0.remove.headers = Self.entries(["X-Gone"], values: false)
                $0.rename.headers = Self.entries(["x-old:X-New"])
                $0.replace.headers = Self.entries(["x-keep:replaced", "x-absent:no", "host:upstream.test"])
                $0.add.headers = Self.entries(["x-keep:not-added", "X-Added:$(headers[\"x-keep\"])", "host:nope"])
                $0.append.headers = Self.entries(["X-Keep:appended"])
            },
            headers: [("X-Gone", "1"), ("X-Old", "o"), ("x-keep", "k"), ("Host", "client.test")]
        )
        #expect(edits.remove.contains("X-Gone"))
        #expect(edits.remove.contains("x-old"))
        #expect(edits.set.contains { $0.name == "X-New" && $0.value == "o" })
        #expect(edits.set.filter { $0.name == "X-Keep" }.map(\.value) == ["replaced", "appended"])
        #expect(!edits.set.contains { $0.name == "x-absent" })
        #expect(edits.set.contains { $0.name == "host" && $0.value == "upstream.test" })
        // add's template reads the request as it came.
        #expect(edits.set.contains { $0.name == "X-Added" && $0.value == "k" })
    }

    /// Removes and adds only take a shorter path: same answers, a removed header may be added again.
    @Test func removeThenAddOnly() {
        let (_, edits) = Self.run(
            {
                $0.remove.headers = Self.entries(["X-A"], values: false)
                $0.add.headers = Self.entries(["x-a:new", "x-b:no", "x-c:yes"])
            },
            headers: [("X-A", "old"), ("X-B", "kept")]
        )
        #expect(edits.set.contains { $0.name == "x-a" && $0.value == "new" })
        #expect(!edits.set.contains { $0.name == "x-b" })
        #expect(edits.set.contains { $0.name == "x-c" && $0.value == "yes" })
    }

    @Test func plainAddsMadeOnceEditAsTheLoopDoes() {
        let adds = { (c: inout RequestTransformerConfig) in
            c.remove.headers = Self.entries(["x-debug"], values: false)
            c.add.headers = Self.entries(["X-Gateway:turnpike", "X-Zone:eu"])
        }
        // Nothing to remove, nothing present: the edits made at load, in order.
        let (_, fresh) = Self.run(adds, headers: [("Origin", "http://a.test")])
        #expect(fresh.remove == ["X-Gateway", "X-Zone"])
        #expect(fresh.set.map { "\($0.name)=\($0.value)" } == ["X-Gateway=turnpike", "X-Zone=eu"])
        // One present (`_` read as `-`): only the other is added.
        let (_, present) = Self.run(adds, headers: [("x_zone", "us")])
        #expect(present.set.map(\.name) == ["X-Gateway"] && present.remove == ["X-Gateway"])
        // A removed header first: the loop's order, remove then add.
        let (_, removed) = Self.run(adds, headers: [("X-Debug", "1")])
        #expect(removed.remove == ["x-debug", "X-Gateway", "X-Zone"] && removed.set.count == 2)
        // A repeated name or a template is never made at load.
        #expect(
            RequestTransformerPlugin(config: Self.config { $0.add.headers = Self.entries(["a:1", "A:2"]) }).plainAdds
                == nil
        )
        #expect(
            RequestTransformerPlugin(config: Self.config { $0.add.headers = Self.entries(["a:$(headers.b)"]) })
                .plainAdds
                == nil
        )
        // An earlier plugin's edits are kept (key-auth's consumer headers).
        var context = AccessContext(request: AccessRequest(method: "GET", headers: [], query: nil), now: 0)
        context.edits.setHeader("X-Consumer-ID", "c1")
        _ = RequestTransformerPlugin(config: Self.config(adds)).access(&context, directory: Directory())
        #expect(context.edits.set.map(\.name) == ["X-Consumer-ID", "X-Gateway", "X-Zone"])
    }

    static func config(_ configure: (inout RequestTransformerConfig) -> Void) -> RequestTransformerConfig {
        var config = RequestTransformerConfig()
        configure(&config)
        return config
    }

    @Test func reviewCases() {
        // Renaming onto an existing header replaces it.
        let (_, renamed) = Self.run(
            { $0.rename.headers = Self.entries(["X-A:X-B"]) },
            headers: [("X-A", "1"), ("X-B", "2")]
        )
        #expect(renamed.set.filter { HeaderName.equal($0.name, "x-b") }.map(\.value) == ["1"])
        // A body the gateway did not read (declared, not held) is not edited.
        let (_, unread) = Self.run(
            { $0.add.body = Self.entries(["a:b"]) },
            headers: [("Content-Type", "application/json"), ("Content-Length", "20000")]
        )
        #expect(unread.body == nil)
        // The request as earlier plugins left it: key-auth's cleared query and its headers.
        var config = RequestTransformerConfig()
        config.add.querystring = Self.entries(["x:1"])
        config.add.headers = Self.entries(["X-Who:$(headers[\"x-consumer-username\"] or \"nobody\")"])
        var context = AccessContext(
            request: AccessRequest(
                method: "GET",
                headers: [(name: "X-Consumer-Username", value: "spoof")],
                query: "apikey=k"
            ),
            now: 0
        )
        context.edits.query = ""
        context.edits.setHeader("X-Consumer-Username", "alice")
        _ = RequestTransformerPlugin(config: config).access(&context, directory: Directory())
        #expect(context.edits.query == "x=1")
        #expect(context.edits.set.contains { $0.name == "X-Who" && $0.value == "alice" })
        // Negative capture indexes are not read.
        guard case .failure = ValueTemplate.parse("$(uri_captures[-1])") else {
            Issue.record("a negative capture index was accepted")
            return
        }
    }

    @Test func querystring() {
        let (_, edits) = Self.run(
            {
                $0.remove.querystring = Self.entries(["gone"], values: false)
                $0.rename.querystring = Self.entries(["old:new"])
                $0.replace.querystring = Self.entries(["keep:r", "absent:x"])
                $0.add.querystring = Self.entries(["keep:no", "added:a b"])
                $0.append.querystring = Self.entries(["keep:two"])
            },
            query: "gone=1&old=o&keep=k&flag"
        )
        // Written sorted by name, as Kong's set_query does.
        #expect(edits.query == "added=a%20b&flag&keep=r&keep=two&new=o")
    }

    @Test func jsonBody() {
        let (_, edits) = Self.run(
            {
                $0.remove.body = Self.entries(["gone"], values: false)
                $0.rename.body = Self.entries(["old:new"])
                $0.replace.body = Self.entries(["keep:r"])
                $0.add.body = Self.entries(["added:1"])
                $0.append.body = Self.entries(["list:x"])
            },
            headers: [("Content-Type", "application/json")],
            body: #"{"gone":1,"old":{"n":2},"keep":true,"list":["a"]}"#
        )
        #expect(
            edits.body.map { String(decoding: $0, as: UTF8.self) }
                == #"{"keep":"r","list":["a","x"],"new":{"n":2},"added":"1"}"#
        )
        // No body: only add and append, on an empty object (as Kong edits an unread body).
        let (_, empty) = Self.run(
            { $0.add.body = Self.entries(["a:1"]) },
            headers: [("Content-Type", "application/json")]
        )
        #expect(empty.body.map { String(decoding: $0, as: UTF8.self) } == #"{"a":"1"}"#)
        // Not JSON: unchanged.
        let (_, broken) = Self.run(
            { $0.remove.body = Self.entries(["a"], values: false) },
            headers: [("Content-Type", "application/json")],
            body: "{nope"
        )
        #expect(broken.body == nil)
    }

    @Test func formAndMethod() {
        let (_, edits) = Self.run(
            {
                $0.add.body = Self.entries(["b:2"])
                $0.httpMethod = "GET"
            },
            method: "POST",
            headers: [("Content-Type", "application/x-www-form-urlencoded")],
            query: "q=1",
            body: "a=1"
        )
        #expect(edits.method == "GET")
        #expect(edits.body.map { String(decoding: $0, as: UTF8.self) } == "a=1&b=2")
        // To GET, a form body's arguments join the query, written by Kong's `set_query` (sorted).
        #expect(edits.query == "a=1&q=1")
    }

    /// Kong's spec (02-access_spec.lua, "changes the HTTP method from GET to POST" with a JSON
    /// body added): the body is edited by the Content-Type the header edits just set.
    @Test func bodyKindFollowsTheEditedContentType() {
        let (_, edits) = Self.run(
            {
                $0.httpMethod = "POST"
                $0.add.headers = Self.entries(["Content-Type:application/json"])
                $0.add.body = Self.entries(["body:somecontent"])
            },
            method: "GET"
        )
        #expect(edits.method == "POST")
        #expect(edits.set.contains { $0.name == "Content-Type" && $0.value == "application/json" })
        #expect(edits.body.map { String(decoding: $0, as: UTF8.self) } == #"{"body":"somecontent"}"#)
        // A Content-Type removed by the header edits: no body edit at all.
        let (_, removed) = Self.run(
            {
                $0.remove.headers = Self.entries(["content-type"], values: false)
                $0.add.body = Self.entries(["b:2"])
            },
            method: "POST",
            headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: "a=1"
        )
        #expect(removed.body == nil)
    }

    /// Kong's `set_query` sorts each argument's encoded text, not its name; `append_value`
    /// replaces an argument that had no value.
    @Test func queryAsKongWritesIt() {
        let (_, edits) = Self.run(
            { $0.add.querystring = Self.entries(["p:x", "p1:y", "a-b:2", "a:1"]) },
            query: nil
        )
        #expect(edits.query == "a-b=2&a=1&p1=y&p=x")
        let (_, flag) = Self.run({ $0.append.querystring = Self.entries(["flag:x", "more:2"]) }, query: "flag&more=1")
        #expect(flag.query == "flag=x&more=1&more=2")
        #expect(RequestTransformerPlugin.orderedQuery([("k", ["a b", nil, ""])]) == "k=a%20b&k&k=")
    }

    @Test func multipartBody() {
        let body =
            "--XB\r\nContent-Disposition: form-data; name=\"keep\"\r\n\r\nk\r\n"
            + "--XB\r\nContent-Disposition: form-data; name=\"gone\"\r\n\r\ng\r\n--XB--\r\n"
        let (_, edits) = Self.run(
            {
                $0.remove.body = Self.entries(["gone"], values: false)
                $0.add.body = Self.entries(["added:a"])
            },
            headers: [("Content-Type", "multipart/form-data; boundary=XB")],
            body: body
        )
        let out = edits.body.map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(out.contains("name=\"keep\"\r\n\r\nk\r\n"))
        #expect(!out.contains("gone"))
        #expect(out.contains("name=\"added\"\r\n\r\na\r\n"))
        #expect(out.hasSuffix("--XB--\r\n"))
        // Every part removed: Kong's multipart library writes an empty body.
        let (_, emptied) = Self.run(
            { $0.remove.body = Self.entries(["keep", "gone"], values: false) },
            headers: [("Content-Type", "multipart/form-data; boundary=XB")],
            body: body
        )
        #expect(emptied.body == [])
        // Kong's spec: `add` on an empty multipart body, byte for byte.
        let (_, added) = Self.run(
            { $0.add.body = Self.entries(["p1:v1"]) },
            method: "POST",
            headers: [("Content-Type", "multipart/form-data; boundary=8fd84e9444e3946c")],
            body: ""
        )
        #expect(
            added.body.map { String(decoding: $0, as: UTF8.self) }
                == "--8fd84e9444e3946c\r\nContent-Disposition: form-data; name=\"p1\"\r\n\r\nv1\r\n--8fd84e9444e3946c--\r\n"
        )
    }

    @Test func uriWithCaptures() {
        let (outcome, edits) = Self.run(
            { $0.uriTemplate = try? ValueTemplate.parse("/v2/$(uri_captures.id)/$(uri_captures[1])").get() },
            captures: URICaptures(unnamed: ["/users/42", "users"], named: ["id": "42"])
        )
        #expect(outcome == .proceed)
        #expect(edits.path == "/v2/42/users")
        let (bad, _) = Self.run({ $0.uriTemplate = try? ValueTemplate.parse("no-slash").get() })
        #expect(bad == .respond(LocalResponse(status: 500, message: "An unexpected error occurred")))
    }
}
