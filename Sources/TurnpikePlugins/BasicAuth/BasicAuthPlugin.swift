import TurnpikeModel

/// Kong's basic-auth: `Authorization: Basic base64(user:password)` against consumer credentials
/// (kong/plugins/basic-auth/access.lua).
public struct BasicAuthPlugin: Plugin, AccessHandler {
    public static let name = "basic-auth"
    public static let priority = 1100
    public static let allowsConsumerScope = false
    public typealias Config = BasicAuthConfig

    public let config: BasicAuthConfig
    public var name: String { Self.name }

    public init(config: BasicAuthConfig) {
        self.config = config
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        if self.config.anonymous != nil, context.authentication?.credentialID != nil { return .proceed }
        // Proxy-Authorization first, then Authorization (Kong's order).
        var used: String?
        var credentials: (user: String, password: String)?
        for header in ["proxy-authorization", "authorization"] {
            guard let value = context.request.header(header) else {
                continue
            }
            used = header
            credentials = Self.parse(value)
            break
        }
        if let credentials,
            let credential = directory.credentials(BasicAuthCredential.self)?.credential(username: credentials.user),
            credential.verify(password: credentials.password),
            let consumer = directory.consumer(id: credential.consumer)
        {
            if self.config.hideCredentials, let used { context.edits.remove.append(used) }
            context.setConsumerHeaders(consumer: consumer, credentialID: credential.id)
            context.edits.setHeader("X-Credential-Identifier", credential.fields.username)
            return .proceed
        }
        if let anonymous = self.config.anonymous {
            guard let consumer = directory.consumer(idOrUsername: anonymous) else {
                return .respond(
                    LocalResponse(
                        status: 500,
                        message: "anonymous consumer \(anonymous) is configured but doesn't exist"
                    )
                )
            }
            context.setConsumerHeaders(consumer: consumer, credentialID: nil)
            return .proceed
        }
        return .respond(
            LocalResponse(
                status: 401,
                message: "Unauthorized",
                headers: ["WWW-Authenticate": "Basic realm=\"\(self.config.realm)\""]
            )
        )
    }

    /// `Basic <base64(user:password)>`: the scheme in any case, split at the first colon.
    static func parse(_ value: String) -> (user: String, password: String)? {
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic", let decoded = Base64.decode(parts[1]) else {
            return nil
        }
        guard let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (
            String(decoding: decoded[..<colon], as: UTF8.self), String(decoding: decoded[(colon + 1)...], as: UTF8.self)
        )
    }
}

/// Standard base64 (padding optional), for `Authorization: Basic`.
enum Base64 {
    static func decode(_ text: Substring) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(c - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(c - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(c - 48 + 52)
            case UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "/"): values.append(63)
            case UInt8(ascii: "="): break
            default: return nil
            }
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let chunk = values[i..<min(i + 4, values.count)]
            let a = chunk[chunk.startIndex]
            let b = chunk.count > 1 ? chunk[chunk.startIndex + 1] : 0
            out.append(a << 2 | b >> 4)
            if chunk.count > 2 { out.append((b & 0xf) << 4 | chunk[chunk.startIndex + 2] >> 2) }
            if chunk.count > 3 { out.append((chunk[chunk.startIndex + 2] & 0x3) << 6 | chunk[chunk.startIndex + 3]) }
            i += 4
        }
        return out
    }
}
