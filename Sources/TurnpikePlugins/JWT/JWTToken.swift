public import Crypto
import TurnpikeModel
public import _CryptoExtras

/// A verification key for the public-key algorithms, parsed once from a credential's PEM text:
/// a `PUBLIC KEY` (RSA, P-256/384/521, Ed25519), an `RSA PUBLIC KEY`, or a private key of those
/// kinds (its public half is kept). Kong's `resty.openssl.pkey.new` also reads DER and JWK, and
/// Ed448: turnpike refuses those at load. (Unchecked: swift-crypto's key types are immutable
/// values not marked Sendable.)
public enum JWTPublicKey: @unchecked Sendable {
    case rsa(_RSA.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
    case p521(P521.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    public struct Problem: Error, Equatable {
        public let message: String
    }

    public static func parse(_ pem: String) -> Result<JWTPublicKey, Problem> {
        let text = String(Substring(pem).kongStripped)
        if let key = try? _RSA.Signing.PublicKey(pemRepresentation: text) { return .success(.rsa(key)) }
        if let key = try? P256.Signing.PublicKey(pemRepresentation: text) { return .success(.p256(key)) }
        if let key = try? P384.Signing.PublicKey(pemRepresentation: text) { return .success(.p384(key)) }
        if let key = try? P521.Signing.PublicKey(pemRepresentation: text) { return .success(.p521(key)) }
        if let key = Self.ed25519(text) { return .success(.ed25519(key)) }
        if let key = try? _RSA.Signing.PrivateKey(pemRepresentation: text) { return .success(.rsa(key.publicKey)) }
        if let key = try? P256.Signing.PrivateKey(pemRepresentation: text) { return .success(.p256(key.publicKey)) }
        if let key = try? P384.Signing.PrivateKey(pemRepresentation: text) { return .success(.p384(key.publicKey)) }
        if let key = try? P521.Signing.PrivateKey(pemRepresentation: text) { return .success(.p521(key.publicKey)) }
        if (try? _RSA.Signing.PublicKey(unsafePEMRepresentation: text)) != nil {
            return .failure(Problem(message: "invalid key: an RSA key must have at least 2048 bits"))
        }
        return .failure(Problem(message: "invalid key"))
    }

    /// Whether the PEM text holds a private key (`… PRIVATE KEY-----`): never shown.
    public static func isPrivate(_ pem: String) -> Bool {
        pem.contains("PRIVATE KEY-----")
    }

    /// An Ed25519 key in PEM: the public key's fixed SubjectPublicKeyInfo, or a PKCS #8 private
    /// key (RFC 8410).
    static func ed25519(_ pem: String) -> Curve25519.Signing.PublicKey? {
        let spki: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
        let pkcs8: [UInt8] = [
            0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
        ]
        guard let der = Self.pemBody(pem) else { return nil }
        if der.count == 44, der.starts(with: spki) {
            return try? Curve25519.Signing.PublicKey(rawRepresentation: der[12...])
        }
        if der.count == 48, der.starts(with: pkcs8) {
            return try? Curve25519.Signing.PrivateKey(rawRepresentation: der[16...]).publicKey
        }
        return nil
    }

    /// The bytes of a PEM block (`-----BEGIN …-----` to `-----END …-----`).
    static func pemBody(_ pem: String) -> [UInt8]? {
        let lines = pem.split(whereSeparator: \.isNewline).map { $0.kongStripped }
        guard let first = lines.first, first.hasPrefix("-----BEGIN "), let last = lines.last,
            last.hasPrefix("-----END "), lines.count > 2
        else { return nil }
        return NginxBase64.decode(Substring(lines[1..<(lines.count - 1)].joined()), .standard)
    }
}

/// A JWT as Kong's jwt_parser reads it (kong/plugins/jwt/jwt_parser.lua): three dot-separated
/// base64url parts (nginx's decoder: padding optional), a JSON object header whose `alg` is one
/// Kong supports, JSON claims, and the signature over the first two parts as they came.
struct JWTToken {
    let header: [(String, Rendered)]
    let claims: Rendered
    let algorithm: String
    let signature: [UInt8]
    /// `header.claims`, the signed bytes.
    let signingInput: ArraySlice<UInt8>

    enum Failure: Error, Equatable {
        /// A 401 `Bad token; <reason>`.
        case bad(String)
        /// Kong raises a Lua error here: its answer is a 500.
        case crash
    }

    static let supported: Set<String> = Set(JWTSecret.algorithms)

    static func parse(_ token: String) -> Result<JWTToken, Failure> {
        // Bytes throughout: the token is split at its first two dots (the third part may hold more).
        let bytes = Array(token.utf8)
        guard let first = bytes.firstIndex(of: UInt8(ascii: ".")),
            let second = bytes[(first + 1)...].firstIndex(of: UInt8(ascii: ".")),
            let headerBytes = NginxBase64.decode(bytes[..<first], .url),
            let claimsBytes = NginxBase64.decode(bytes[(first + 1)..<second], .url)
        else { return .failure(.bad("invalid JSON")) }
        var headerParser = JSONDocument(bytes: headerBytes, maxDepth: 1000)
        var claimsParser = JSONDocument(bytes: claimsBytes, maxDepth: 1000)
        guard let header = headerParser.document(), let claims = claimsParser.document() else {
            return .failure(.bad("invalid JSON"))
        }
        let fields: [(String, Rendered)]
        switch header {
        case .object(let list): fields = list
        case .array, .string: fields = []  // Lua indexes both: no `alg`
        default: return .failure(.crash)  // Kong indexes a number, a boolean or null
        }
        guard case .string(let alg)? = Self.last(fields, "alg"), Self.supported.contains(alg) else {
            return .failure(.bad("invalid alg"))
        }
        if claims == .bool(false) { return .failure(.bad("invalid claims")) }
        guard let signature = NginxBase64.decode(bytes[(second + 1)...], .url) else {
            return .failure(.bad("invalid signature"))
        }
        let input = bytes[..<second]
        return .success(
            JWTToken(header: fields, claims: claims, algorithm: alg, signature: signature, signingInput: input)
        )
    }

    /// A JSON object's value for `name` (the last of repeated keys, as cjson keeps it).
    static func last(_ fields: [(String, Rendered)], _ name: String) -> Rendered? {
        fields.last { $0.0 == name }?.1
    }

    /// A claim; nil when the claims are not an object (an array or a string reads as having
    /// none, as Lua indexes them).
    func claim(_ name: String) -> Rendered? {
        guard case .object(let fields) = self.claims else { return nil }
        return Self.last(fields, name)
    }

    /// Whether Lua can index the claims: not a number, `true` or null (Kong raises on those).
    var claimsIndexable: Bool {
        switch self.claims {
        case .object, .array, .string: return true
        default: return false
        }
    }

    enum Verification: Equatable {
        case valid
        case invalid
        /// Kong asserts on a signature of the wrong length (ES, PS): a 500.
        case crash
    }

    /// Kong's `verify_signature` with the credential's keyed HMAC (HS) or public key.
    func verify(mac: KeyedMAC?, publicKey: JWTPublicKey?) -> Verification {
        let data = self.signingInput
        switch self.algorithm {
        case "HS256", "HS384", "HS512":
            return mac?.isValid(self.signature, for: data) ?? false ? .valid : .invalid
        case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
            let pss = self.algorithm.hasPrefix("PS")
            // Kong asserts a 256-byte signature for PS (RSA-2048 keys only).
            if pss && self.signature.count != 256 { return .crash }
            guard case .rsa(let key)? = publicKey else { return .invalid }
            let signature = _RSA.Signing.RSASignature(rawRepresentation: self.signature)
            let padding: _RSA.Signing.Padding = pss ? .PSS : .insecurePKCS1v1_5
            let ok: Bool
            switch self.algorithm.suffix(3) {
            case "256": ok = key.isValidSignature(signature, for: SHA256.hash(data: data), padding: padding)
            case "384": ok = key.isValidSignature(signature, for: SHA384.hash(data: data), padding: padding)
            default: ok = key.isValidSignature(signature, for: SHA512.hash(data: data), padding: padding)
            }
            return ok ? .valid : .invalid
        case "ES256":
            guard self.signature.count == 64 else { return .crash }
            guard case .p256(let key)? = publicKey,
                let signature = try? P256.Signing.ECDSASignature(rawRepresentation: self.signature)
            else { return .invalid }
            return key.isValidSignature(signature, for: SHA256.hash(data: data)) ? .valid : .invalid
        case "ES384":
            guard self.signature.count == 96 else { return .crash }
            guard case .p384(let key)? = publicKey,
                let signature = try? P384.Signing.ECDSASignature(rawRepresentation: self.signature)
            else { return .invalid }
            return key.isValidSignature(signature, for: SHA384.hash(data: data)) ? .valid : .invalid
        case "ES512":
            guard self.signature.count == 132 else { return .crash }
            guard case .p521(let key)? = publicKey,
                let signature = try? P521.Signing.ECDSASignature(rawRepresentation: self.signature)
            else { return .invalid }
            return key.isValidSignature(signature, for: SHA512.hash(data: data)) ? .valid : .invalid
        case "EdDSA":
            guard case .ed25519(let key)? = publicKey else { return .invalid }
            return key.isValidSignature(self.signature, for: data) ? .valid : .invalid
        default:
            return .invalid
        }
    }

    /// Kong's `verify_registered_claims`: each of `claims` (`exp`, `nbf`) must be a number, `exp`
    /// later than now, `nbf` not later; the errors by claim, in the configured order.
    func registeredClaimErrors(_ claims: [String], now: Int) -> [(String, String)] {
        var errors: [(String, String)] = []
        for name in claims {
            guard let value = Self.number(self.claim(name)) else {
                errors.append((name, "must be a number"))
                continue
            }
            if name == "nbf" && value > Double(now) { errors.append((name, "token not valid yet")) }
            if name == "exp" && value <= Double(now) { errors.append((name, "token expired")) }
        }
        return errors
    }

    static func number(_ value: Rendered?) -> Double? {
        switch value {
        case .integer(let n)?: return Double(n)
        case .number(let n)?: return n
        default: return nil
        }
    }

    /// Kong's `check_maximum_expiration`: true when within `maximum`; nil when Kong's Lua would
    /// raise (an `exp` that is neither a number nor a numeric string).
    func withinMaximumExpiration(_ maximum: Double, now: Int) -> Bool? {
        let exp = self.claim("exp")
        guard let exp else { return false }
        let value: Double
        if let n = Self.number(exp) {
            value = n
        } else if case .string(let text) = exp, let n = LuaNumber.parse(text) {
            value = n
        } else {
            return nil
        }
        return value - Double(now) <= maximum
    }
}

/// An HMAC keyed once at load (the key's pads already hashed), copied for each token; the
/// code is compared in constant time (Kong compares with `==`). (Unchecked: swift-crypto's
/// HMAC is a value type not marked Sendable.)
public struct KeyedMAC: @unchecked Sendable {
    enum State {
        case sha256(HMAC<SHA256>)
        case sha384(HMAC<SHA384>)
        case sha512(HMAC<SHA512>)
    }

    let state: State

    /// Nil for an algorithm that is not HS256/384/512.
    init?(algorithm: String, key: [UInt8]) {
        let key = SymmetricKey(data: key)
        switch algorithm {
        case "HS256": self.state = .sha256(HMAC(key: key))
        case "HS384": self.state = .sha384(HMAC(key: key))
        case "HS512": self.state = .sha512(HMAC(key: key))
        default: return nil
        }
    }

    func isValid(_ signature: [UInt8], for data: ArraySlice<UInt8>) -> Bool {
        switch self.state {
        case .sha256(let keyed): return Self.check(keyed, signature, data)
        case .sha384(let keyed): return Self.check(keyed, signature, data)
        case .sha512(let keyed): return Self.check(keyed, signature, data)
        }
    }

    static func check<H: HashFunction>(_ keyed: HMAC<H>, _ signature: [UInt8], _ data: ArraySlice<UInt8>) -> Bool {
        var mac = keyed
        data.withUnsafeBytes { mac.update(data: $0) }
        return mac.finalize().withUnsafeBytes { ConstantTime.equal(Array($0), signature) }
    }
}
