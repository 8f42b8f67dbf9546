import Testing

@testable import TurnpikeRouter

@Suite struct HostMatcherTests {
    @Test(
        arguments: [
            ("example.com", "example.com", nil),
            ("example.com:8000", "example.com", 8000),
            ("example.com:", "example.com:", nil),
            ("example.com:x", "example.com:x", nil),
            // Kong splits at the first colon, so a bracketed IPv6 literal keeps its port.
            ("[::1]:8000", "[::1]:8000", nil),
            ("", "", nil),
        ] as [(String, String, Int?)]
    )
    func splitsLikeKong(value: String, host: String, port: Int?) {
        let (h, p) = HostMatcher.split(Array(value.utf8))
        #expect(String(decoding: h, as: UTF8.self) == host)
        #expect(p == port)
    }

    @Test func patterns() {
        let suffix = HostPattern("*.example.com")
        #expect(suffix.matches(host: Array("a.example.com".utf8), port: 80))
        #expect(!suffix.matches(host: Array("example.com".utf8), port: 80))
        let prefix = HostPattern("example.*:8443")
        #expect(prefix.matches(host: Array("example.net".utf8), port: 8443))
        #expect(!prefix.matches(host: Array("example.net".utf8), port: 443))
        let sni = SNIPattern("secure.example.com.")
        #expect(sni.matches(Array("secure.example.com".utf8)))
        #expect(SNIPattern("*.example.com").matches(Array("a.example.com".utf8)))
        #expect(SNIPattern("example.*").matches(Array("example.org".utf8)))
    }
}
