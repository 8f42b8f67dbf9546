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
            context.setConsumerHeaders(
                consumer: consumer,
                credentialID: credential.id,
                identifier: credential.fields.username
            )
            return .proceed
        }
        if let anonymous = self.config.anonymous {
            return context.authenticateAnonymous(anonymous, directory: directory)
        }
        return .respond(
            LocalResponse(
                status: 401,
                message: "Unauthorized",
                headers: ["WWW-Authenticate": "Basic realm=\"\(self.config.realm)\""]
            )
        )
    }

    /// `Basic <base64(user:password)>`: the scheme in any case, decoded as nginx's
    /// `ngx.decode_base64` reads it, split at the first colon.
    static func parse(_ value: String) -> (user: String, password: String)? {
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic", let decoded = NginxBase64.decode(parts[1], .standard)
        else {
            return nil
        }
        guard let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (
            String(decoding: decoded[..<colon], as: UTF8.self), String(decoding: decoded[(colon + 1)...], as: UTF8.self)
        )
    }
}
