import Testing
import TurnpikeServer

/// Kong's `proxy_listen` syntax (kong/conf_loader/listeners.lua).
@Suite struct ProxyListenerTests {
    @Test func kongsDefaultIsAPlainAndATLSListener() throws {
        let listeners = try ProxyListener.parseList(ProxyListener.kongDefault)
        #expect(
            listeners == [
                ProxyListener(host: "0.0.0.0", port: 8000), ProxyListener(host: "0.0.0.0", port: 8443, ssl: true),
            ]
        )
    }

    @Test func flagsTurnpikeHonours() throws {
        // kong_defaults.lua's own value: every entry is served, http2 is noted for the warning.
        let listeners = try ProxyListener.parseList(
            "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384"
        )
        #expect(listeners.count == 2)
        #expect(listeners[0].reusePort && listeners[0].backlog == 16384 && !listeners[0].ssl)
        #expect(listeners[1].ssl && listeners[1].http2Requested && listeners[1].reusePort)
        #expect(listeners[1].description == "0.0.0.0:8443 ssl http2 reuseport backlog=16384")
        let v6 = try ProxyListener.parseList("[::1]:9000 bind ssl")
        #expect(v6 == [ProxyListener(host: "::1", port: 9000, ssl: true)])
        #expect(v6[0].description == "[::1]:9000 ssl")
        #expect(try ProxyListener.parseList("  127.0.0.1:1  ,127.0.0.1:2 ").count == 2)
        #expect(try ProxyListener.parseList("off").isEmpty)
    }

    @Test func whatKongWouldNotParseIsAnErrorWithKongsUsage() {
        for text in [
            "", "8000", "0.0.0.0:8000 tls", "0.0.0.0:8000,", "0.0.0.0:99999", "::1:8000", "0.0.0.0:x",
            "0.0.0.0:8000 backlog=0", "0.0.0.0:8000 backlog=x",
        ] {
            #expect(throws: ProxyListener.Invalid.self, "\(text)") { try ProxyListener.parseList(text) }
        }
        do {
            _ = try ProxyListener.parseList("0.0.0.0:8000 tls")
        } catch {
            #expect(error.description.hasPrefix("proxy_listen must be of form: [off] | <ip>:<port> [ssl] [http2]"))
        }
    }

    @Test func kongFlagsTurnpikeCannotHonourAreRefusedByName() {
        for flag in ["proxy_protocol", "deferred", "ipv6only=on", "so_keepalive=on", "so_keepalive=30m::10"] {
            do {
                _ = try ProxyListener.parseList("0.0.0.0:8000 \(flag)")
                Issue.record("\(flag) accepted")
            } catch {
                #expect(error.description == "proxy_listen: flag '\(flag)' is not supported by Turnpike")
            }
        }
    }
}
