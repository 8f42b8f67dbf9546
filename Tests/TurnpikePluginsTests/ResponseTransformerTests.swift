import NIOCore
import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// response-transformer (kong/plugins/response-transformer/), with cases from Kong's specs
/// (spec/03-plugins/15-response-transformer/).
@Suite struct ResponseTransformerTests {
    static func pairs(_ list: [String]) -> [ResponseTransformerConfig.Pair] {
        list.map(ResponseTransformerConfig.split)
    }

    /// The edited body as a dictionary (key order is not part of JSON).
    static func edit(_ json: String, _ configure: (inout ResponseTransformerConfig) -> Void) -> [String: Rendered]? {
        var config = ResponseTransformerConfig()
        configure(&config)
        guard let out = JSONBodyEditor.edit(Array(json.utf8), config: config) else { return nil }
        var parser = JSONDocument(bytes: out)
        guard case .object(let fields)? = parser.document() else { return nil }
        return Dictionary(fields, uniquingKeysWith: { a, _ in a })
    }

    @Test func addAsKong() {
        let add: (inout ResponseTransformerConfig) -> Void = {
            $0.add.json = Self.pairs(["p1:v1", "p3:value:3", "p4:\"v1\"", "p5:-1", "p6:false", "p7:true"])
            $0.add.jsonTypes = ["string", "string", "string", "number", "boolean", "boolean"]
        }
        let expected: [String: Rendered] = [
            "p1": .string("v1"), "p3": .string("value:3"), "p4": .string("\"v1\""), "p5": .integer(-1),
            "p6": .bool(false), "p7": .bool(true),
        ]
        #expect(Self.edit(#"{"p2":"v1"}"#, add) == expected.merging(["p2": .string("v1")]) { a, _ in a })
        #expect(Self.edit(#"{"p2":false}"#, add) == expected.merging(["p2": .bool(false)]) { a, _ in a })
        #expect(Self.edit(#"{"p2":"v1","a":[]}"#, add)?["a"] == .array([]))
        // A key already there is not replaced (a false one is: Lua's `not false`).
        #expect(Self.edit(#"{"p1":"kept","p6":false}"#, add)?["p1"] == .string("kept"))
        #expect(Self.edit(#"{"p1":"kept","p6":false}"#, add)?["p6"] == .bool(false))
    }

    @Test func appendAsKong() {
        let append: (inout ResponseTransformerConfig) -> Void = {
            $0.append.json = Self.pairs(["p1:v1", "p3:\"v1\"", "p4:-1", "p5:false", "p6:true"])
            $0.append.jsonTypes = ["string", "string", "number", "boolean", "boolean"]
        }
        let fresh = Self.edit(#"{"p2":"v1"}"#, append)
        #expect(fresh?["p1"] == .array([.string("v1")]))
        #expect(fresh?["p4"] == .array([.integer(-1)]))
        #expect(Self.edit(#"{"p1":"v2"}"#, append)?["p1"] == .array([.string("v2"), .string("v1")]))
        #expect(Self.edit(#"{"p4":"v2"}"#, append)?["p4"] == .array([.string("v2"), .integer(-1)]))
        #expect(Self.edit(#"{"p1":["a"]}"#, append)?["p1"] == .array([.string("a"), .string("v1")]))
    }

    @Test func removeRenameReplace() {
        let edited = Self.edit(#"{"p1":"v1","p2":"v2","p3":"v3","p4":null}"#) {
            $0.remove.json = Self.pairs(["p1"])
            $0.rename.json = Self.pairs(["p2:renamed", "missing:x"])
            $0.replace.json = Self.pairs(["p3:new", "p4:replaced", "absent:no"])
        }
        #expect(edited?["p1"] == nil)
        #expect(edited?["p2"] == nil && edited?["renamed"] == .string("v2"))
        #expect(edited?["x"] == nil)
        #expect(edited?["p3"] == .string("new"))
        // JSON null is a value in Lua (cjson.null): replaced.
        #expect(edited?["p4"] == .string("replaced"))
        #expect(edited?["absent"] == nil)
        // Not a JSON object: left as it came.
        #expect(Self.edit("[1,2]") { $0.remove.json = Self.pairs(["a"]) } == nil)
        #expect(Self.edit("not json") { $0.remove.json = Self.pairs(["a"]) } == nil)
    }

    @Test func whatCjsonWouldDo() {
        // A repeated key keeps its last value, and an edit reaches it.
        var config = ResponseTransformerConfig()
        config.replace.json = Self.pairs(["token:***"])
        let out = JSONBodyEditor.edit(Array(#"{"token":"a","token":"secret"}"#.utf8), config: config)
        #expect(out.map { String(decoding: $0, as: UTF8.self) } == #"{"token":"***"}"#)
        // Renaming a key to itself removes it (Kong sets, then clears).
        #expect(Self.edit(#"{"a":1,"b":2}"#) { $0.rename.json = Self.pairs(["a:a"]) }?["a"] == nil)
        // Deep documents are edited (cjson allows 1000 levels).
        let deep =
            #"{"password":"x","d":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        #expect(Self.edit(deep) { $0.remove.json = Self.pairs(["password"]) }?["password"] == nil)
        // Bytes that are not UTF-8: the body goes out as it came.
        var config2 = ResponseTransformerConfig()
        config2.remove.json = Self.pairs(["a"])
        #expect(JSONBodyEditor.edit(Array(#"{"a":"caf"#.utf8) + [0xE9] + Array(#""}"#.utf8), config: config2) == nil)
    }

    @Test func valuesKeepKongsEscaping() {
        // Kong writes the value as cjson would (backslashes stay escaped), `\"` and `\/` undone.
        #expect(JSONBodyEditor.value(#"a\b"#, type: nil) == .string(#"a\\b"#))
        #expect(JSONBodyEditor.value(#"say "hi" /x"#, type: nil) == .string(#"say "hi" /x"#))
        #expect(JSONBodyEditor.value("x", type: "number") == nil)
        #expect(JSONBodyEditor.value("1.5", type: "number") == .number(1.5))
        #expect(JSONBodyEditor.value("yes", type: "boolean") == .bool(false))
    }

    @Test func headersInKongsOrder() {
        var config = ResponseTransformerConfig()
        config.remove.headers = Self.pairs(["h1"])
        config.rename.headers = Self.pairs(["h1:h1-renamed", "h2:h2-renamed"])
        config.replace.headers = Self.pairs(["h3:replaced", "absent:x"])
        config.add.headers = Self.pairs(["h3:no", "h4:added"])
        config.append.headers = Self.pairs(["h5:appended"])
        let plugin = ResponseTransformerPlugin(config: config)
        var context = ResponseContext(
            status: 200,
            requestID: RequestID(high: 0, low: 0),
            consumer: nil,
            headers: HeaderFields([("h1", "one"), ("h2", "two"), ("h3", "three"), ("h5", "five")])
        )
        plugin.response(&context)
        // Rename reads the headers as they came: h1 was removed, yet it is renamed (as in Kong).
        #expect(context.header("h1") == nil)
        #expect(context.header("h1-renamed") == "one")
        #expect(context.header("h2") == nil && context.header("h2-renamed") == "two")
        #expect(context.header("h3") == "replaced")
        #expect(context.header("absent") == nil)
        #expect(context.header("h4") == "added")
        #expect(context.add.contains { $0.name == "h5" && $0.value == "appended" })
    }

    /// Kong sets Via, Server and the X-Kong-* headers before its plugins' header_filter: they are
    /// present, renamed, replaced and removed like the upstream's own.
    @Test func gatewayHeadersAreThereAsInKong() {
        var config = ResponseTransformerConfig()
        config.rename.headers = Self.pairs(["Via:X-Via"])
        config.replace.headers = Self.pairs(["X-Kong-Request-Id:mine"])
        config.add.headers = Self.pairs(["X-Kong-Proxy-Latency:9", "Server:added", "X-Kong-Response-Latency:1"])
        config.remove.headers = Self.pairs(["X-Kong-Upstream-Latency"])
        let id = RequestID(high: 1, low: 2)
        var context = ResponseContext(
            status: 200,
            requestID: id,
            consumer: nil,
            headers: HeaderFields([("Via", "1.0 squid"), ("Server", "origin")]),
            gateway: GatewayHeaders(
                via: "1.1 turnpike/0.1.0",
                server: "turnpike/0.1.0",
                upstreamLatencyMs: 12,
                proxyLatencyMs: 3,
                requestID: id
            )
        )
        #expect(context.header("x-kong-request-id") == id.description)
        #expect(context.originalValues("via") == ["1.0 squid, 1.1 turnpike/0.1.0"])
        ResponseTransformerPlugin(config: config).response(&context)
        #expect(context.header("X-Via") == "1.0 squid, 1.1 turnpike/0.1.0")
        #expect(context.removes("Via") && context.header("Via") == nil)
        #expect(context.header("X-Kong-Request-Id") == "mine")
        // Present: not added (the upstream's Server wins over the gateway's, as in Kong).
        #expect(context.header("X-Kong-Proxy-Latency") == "3" && !context.removes("X-Kong-Proxy-Latency"))
        #expect(context.header("Server") == "origin" && !context.removes("Server"))
        // Not written on a proxied answer: added.
        #expect(context.header("X-Kong-Response-Latency") == "1")
        #expect(context.removes("X-Kong-Upstream-Latency") && context.header("X-Kong-Upstream-Latency") == nil)
    }

    /// Headers set by plugins that ran before (cors here) count as present, as in Kong.
    @Test func earlierPluginsHeadersArePresent() {
        var config = ResponseTransformerConfig()
        config.replace.headers = Self.pairs(["Access-Control-Allow-Origin:https://app.test"])
        config.add.headers = Self.pairs(["Vary:Accept"])
        var context = ResponseContext(status: 200, requestID: RequestID(high: 0, low: 0), consumer: nil)
        context.setHeader("Access-Control-Allow-Origin", "*")
        context.setHeader("Vary", "Origin")
        ResponseTransformerPlugin(config: config).response(&context)
        #expect(context.header("Access-Control-Allow-Origin") == "https://app.test")
        #expect(context.header("Vary") == "Origin")
    }

    @Test func bodiesAreEditedOnlyWhenJSONAndWithinTheBound() {
        var config = ResponseTransformerConfig()
        config.add.json = Self.pairs(["added:yes"])
        let plugin = ResponseTransformerPlugin(config: config)
        func context(_ type: String) -> ResponseContext {
            ResponseContext(
                status: 200,
                requestID: RequestID(high: 0, low: 0),
                consumer: nil,
                headers: HeaderFields([("Content-Type", type)])
            )
        }
        #expect(plugin.bodyFilter(for: context("text/plain")) == nil)
        #expect(plugin.bodyFilter(for: context("application/problem+json; charset=utf-8")) != nil)
        let filter = plugin.bodyFilter(for: context("application/json"))!
        #expect(filter.filter(ByteBuffer(string: #"{"a":"#), last: false).readableBytes == 0)
        let out = filter.filter(ByteBuffer(string: "1}"), last: true)
        #expect(String(buffer: out) == #"{"a":1,"added":"yes"}"#)
        // Past the bound, the body goes out as it came.
        let big = plugin.bodyFilter(for: context("application/json"))!
        let chunk = ByteBuffer(repeating: UInt8(ascii: " "), count: ResponseTransformerPlugin.maxBodyBytes)
        #expect(big.filter(ByteBuffer(string: "{"), last: false).readableBytes == 0)
        #expect(big.filter(chunk, last: false).readableBytes == chunk.readableBytes + 1)
        #expect(String(buffer: big.filter(ByteBuffer(string: "}"), last: true)) == "}")
    }
}
