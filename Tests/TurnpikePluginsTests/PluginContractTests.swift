import NIOCore
import Synchronization
import Testing
import TurnpikePlugins

/// The plugin contract's pieces on their own (docs/plugins.md): waiting, per-request state,
/// reading and editing response heads, local answers, stores.
@Suite struct PluginContractTests {
    @Test func aPendingAccessSettlesOnceWhicheverSideComesFirst() {
        // The store replies before the pipeline waits: the waiter runs at once.
        let early = PendingAccess(timeout: .seconds(1)) { _ in .proceed }
        early.resume { context in
            context.edits.setHeader("X-A", "1")
            return .proceed
        }
        var woke = 0
        early.whenSettled { woke += 1 }
        #expect(woke == 1)
        var context = request()
        #expect(early.takeContinuation()?(&context) == .proceed)
        #expect(context.edits.set.first?.value == "1")

        // The pipeline waits first; the timeout wins; a late reply is ignored.
        let late = PendingAccess(timeout: .milliseconds(5)) { _ in
            .respond(LocalResponse(status: 504, message: "timeout"))
        }
        var wokeLate = 0
        late.whenSettled { wokeLate += 1 }
        #expect(wokeLate == 0)
        late.expire()
        late.resume { _ in .proceed }
        #expect(wokeLate == 1)
        var other = request()
        #expect(late.takeContinuation()?(&other) == .respond(LocalResponse(status: 504, message: "timeout")))
        #expect(late.takeContinuation() == nil)
    }

    @Test func pluginContextKeepsSharedAndOwnValues() {
        var context = PluginContext()
        context.shared["trace"] = "t1"
        context[plugin: "rate-limiting"]["remaining"] = 4
        context[plugin: "cors"]["origin"] = "https://a.example"
        #expect(context.value("remaining", of: "rate-limiting", as: Int.self) == 4)
        #expect(context.value("remaining", of: "cors", as: Int.self) == nil)
        #expect(context.shared["trace"] as? String == "t1")
    }

    @Test func responseHeadsAreReadAndEditedCaseInsensitively() {
        let raw = ByteBuffer(string: "Content-Type: text/html\r\nVary: Accept\r\nvary: Cookie\r\n")
        let fields = HeaderFields(
            bytes: raw,
            fields: [(0..<12, 14..<23), (25..<29, 31..<37), (39..<43, 45..<51)]
        )
        #expect(fields.first("content-type") == "text/html")
        #expect(fields.values("VARY") == ["Accept", "Cookie"])
        #expect(fields.count == 3 && fields.contains("vary") && !fields.contains("etag"))
        var context = ResponseContext(
            status: 200,
            requestID: RequestID(high: 1, low: 2),
            consumer: nil,
            headers: fields
        )
        #expect(context.header("Content-Type") == "text/html")
        context.setHeader("content-type", "application/json")
        context.addHeader("Vary", "Origin")
        #expect(context.header("CONTENT-TYPE") == "application/json")
        #expect(context.removes("Content-Type") && !context.removes("Vary"))
        #expect(context.add.map(\.value) == ["Origin"])
        context.setHeader("X-Gone", nil)
        #expect(context.header("x-gone") == nil)
    }

    @Test func parsedHeadersReadAsKongReadsThemWithoutCopyingTheRest() {
        // The head sits after bytes already read: ranges count from the reader index.
        var raw = ByteBuffer(string: "GET / HTTP/1.1\r\nX_Api-Key: k1\r\nx-api-key: k2\r\nHost: a.test\r\n")
        raw.moveReaderIndex(forwardBy: 16)
        let fields = HeaderFields(bytes: raw, fields: [(0..<9, 11..<13), (15..<24, 26..<28), (30..<34, 36..<42)])
        #expect(fields.count == 3)
        #expect(fields.map(\.name) == ["X_Api-Key", "x-api-key", "Host"])
        #expect(fields[2].value == "a.test")
        // Kong's get_header reads `_` as `-` on both sides; a plain lookup does not.
        #expect(fields.lookup("x-api_key") == "k1")
        #expect(fields.first("x-api-key") == "k2")
        #expect(fields.values("X-API-KEY") == ["k2"])
        #expect(fields.fields { HeaderName.lookupEqual($0, "X-Api-Key".utf8) }.map(\.value) == ["k1", "k2"])
        // Kong's lua_max_req_headers: only the first fields are read.
        let two = fields.prefix(fields: 2)
        #expect(two.count == 2 && two.first("host") == nil && two.lookup("x_api_key") == "k1")
        #expect(fields.prefix(fields: 10).count == 3)
        // A list reads the same way.
        let list: HeaderFields = [(name: "X_Api-Key", value: "k1"), (name: "Host", value: "a.test")]
        #expect(list.lookup("x-api-key") == "k1" && list.first("HOST") == "a.test" && !list.contains("x-api-key"))
        #expect(list.pairs.map(\.value) == ["k1", "a.test"])
        // Raw bytes, not repaired as UTF-8 (hmac-auth signs them as they came).
        let latin = HeaderFields(bytes: ByteBuffer(bytes: Array("X-Sig: caf".utf8) + [0xE9]), fields: [(0..<5, 7..<11)])
        #expect(latin.lookupBytes("x-sig") == Array("caf".utf8) + [0xE9])
        #expect(latin.lookupBytes("x-other") == nil)
    }

    @Test func localAnswersCarryAnyBodyAndRepeatedHeaders() {
        let error = LocalResponse(status: 401, message: "No API key found in request", headers: ["b": "2", "a": "1"])
        #expect(error.headers.map(\.name) == ["a", "b"])
        #expect(error.message == "No API key found in request")
        let preflight = LocalResponse(
            status: 204,
            headers: [(name: "Vary", value: "Origin"), (name: "Vary", value: "Access-Control-Request-Method")],
            body: .none
        )
        #expect(preflight.message == nil && preflight.header("vary") == "Origin")
        #expect(preflight != LocalResponse(status: 204, headers: [], body: .none))
        #expect(LocalResponse(status: 200, body: .bytes([1, 2])) == LocalResponse(status: 200, body: .bytes([1, 2])))
    }

    final class Counter: PluginStore {
        let flushed = Mutex(0)
        func flush() async { self.flushed.withLock { $0 += 1 } }
    }

    /// A store outlives the plugin instances that use it: the same key gives the same store.
    @Test func storesAreFoundAgainByKeyAndFlushed() async {
        let stores = PluginStores()
        let a = stores.store("rate-limiting:limits-1") { Counter() }
        let again = stores.store("rate-limiting:limits-1") { Counter() }
        let other = stores.store("rate-limiting:limits-2") { Counter() }
        #expect(a === again && a !== other)
        await stores.flush()
        #expect(a.flushed.withLock { $0 } == 1 && other.flushed.withLock { $0 } == 1)
    }
}
