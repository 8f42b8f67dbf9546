import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// ip-restriction (kong/plugins/ip-restriction/): ranges, the order of the lists, Kong's messages.
@Suite struct IPRestrictionTests {
    static func config(
        allow: [String]? = nil,
        deny: [String]? = nil,
        status: Int? = nil,
        message: String? = nil
    )
        -> IPRestrictionConfig
    {
        var config = IPRestrictionConfig()
        config.allow = allow
        config.deny = deny
        config.allowRanges = (allow ?? []).compactMap(IPRange.init)
        config.denyRanges = (deny ?? []).compactMap(IPRange.init)
        config.status = status
        config.message = message
        return config
    }

    static func run(_ config: IPRestrictionConfig, client: String) -> AccessOutcome {
        var context = AccessContext(
            request: AccessRequest(method: "GET", headers: [], query: nil, clientAddress: client),
            now: 0
        )
        return IPRestrictionPlugin(config: config).access(&context, directory: Directory())
    }

    @Test func rangesOfBothFamilies() throws {
        let v4 = try #require(IPRange("10.1.2.3/8"))
        #expect(v4.contains(IPRange.bytes("10.200.0.1")!))
        #expect(!v4.contains(IPRange.bytes("11.0.0.1")!))
        #expect(!v4.contains(IPRange.bytes("::ffff:10.0.0.1")!))
        let one = try #require(IPRange("192.168.1.7"))
        #expect(one.contains(IPRange.bytes("192.168.1.7")!) && !one.contains(IPRange.bytes("192.168.1.8")!))
        let v6 = try #require(IPRange("2001:db8::/33"))
        #expect(v6.contains(IPRange.bytes("2001:db8:7fff::1")!))
        #expect(!v6.contains(IPRange.bytes("2001:db8:8000::1")!))
        #expect(try #require(IPRange("0.0.0.0/0")).contains(IPRange.bytes("8.8.8.8")!))
        for bad in ["10.0.0.0/33", "10.0.0", "::1/129", "x", "10.0.0.0/", "10.0.0.0/-1", "1.2.3.4/٣"] {
            #expect(IPRange(bad) == nil, "\(bad)")
        }
    }

    @Test func denyFirstThenAllow() throws {
        let c = Self.config(allow: ["127.0.0.0/8", "::1"], deny: ["127.0.0.2"])
        #expect(Self.run(c, client: "127.0.0.1") == .proceed)
        #expect(Self.run(c, client: "::1") == .proceed)
        #expect(
            Self.run(c, client: "127.0.0.2")
                == .respond(LocalResponse(status: 403, message: "IP address not allowed: 127.0.0.2"))
        )
        #expect(
            Self.run(c, client: "10.0.0.1")
                == .respond(LocalResponse(status: 403, message: "IP address not allowed: 10.0.0.1"))
        )
        let custom = Self.config(deny: ["10.0.0.0/8"], status: 401, message: "go away")
        #expect(Self.run(custom, client: "10.9.9.9") == .respond(LocalResponse(status: 401, message: "go away")))
        #expect(Self.run(custom, client: "11.0.0.1") == .proceed)
        #expect(
            Self.run(custom, client: "unknown")
                == .respond(
                    LocalResponse(
                        status: 403,
                        message: "Cannot identify the client IP address, unix domain sockets are not supported."
                    )
                )
        )
    }

}
