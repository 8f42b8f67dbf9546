/// Kong's protocol names, in the order Kong lists them in messages.
public enum EntityProtocol: String, Sendable, CaseIterable {
    case grpc, grpcs, http, https, tcp, tls
    case tlsPassthrough = "tls_passthrough"
    case udp

    public static let messageList = "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"
}
