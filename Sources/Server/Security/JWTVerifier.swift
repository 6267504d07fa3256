//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import FoundationEssentials
import JWTKit
import Synchronization

/// Verifies bearer JWTs with jwt-kit: HS256 with the configured secret, ES256 and EdDSA with the configured
/// public keys. The header's `alg` picks the key collection, so an `HS256` token can never be checked against a
/// public key used as an HMAC secret (algorithm confusion), and `none` is never accepted.
public struct JWTVerifier: Sendable {
    /// Why a token is refused (the message goes into the 401's `WWW-Authenticate` and body).
    public struct Failure: Error, Sendable, Equatable {
        public var message: String
    }

    public struct Claims: Sendable, Equatable {
        public var subject: String
        public var role: AccessRole?
        /// Unix seconds after which the token is refused: `exp` plus the leeway.
        public var expiresAt: Double? = nil
    }

    private let hmac: JWTKeyCollection?
    private let asymmetric: JWTKeyCollection?
    private let asymmetricAlgorithms: Set<String>
    private let settings: JWTSettings
    private let wallClock: @Sendable () -> Double
    /// Tokens whose signature verified, with their claims: a poller sends the same token until it expires, so its
    /// signature is checked once; time, issuer and audience are still checked on every use.
    private let verified = VerifiedTokens()

    final class VerifiedTokens: Sendable {
        static let capacity = 1024
        private let tokens = Mutex<[Substring: Payload]>([:])

        func get(_ token: Substring) -> Payload? { tokens.withLock { $0[token] } }

        func put(_ token: Substring, _ payload: Payload) {
            tokens.withLock { tokens in
                if tokens.count >= Self.capacity { tokens.removeAll(keepingCapacity: true) }
                tokens[token] = payload
            }
        }
    }

    /// Loads the secret and the public keys named by `settings`.
    /// - Parameter wallClock: Unix seconds (injected by tests).
    public init(settings: JWTSettings, wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) async throws(AccessControlError) {
        self.settings = settings
        self.wallClock = wallClock
        if let file = settings.hs256SecretFile {
            let secret: [UInt8]
            do {
                secret = try JWTSettings.readHS256Secret(file: file)
            } catch {
                throw AccessControlError("auth.jwt.hs256_secret_file: \(error)")
            }
            hmac = await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        } else {
            hmac = nil
        }
        var algorithms: Set<String> = []
        if settings.publicKeyFiles.isEmpty {
            asymmetric = nil
        } else {
            let keys = JWTKeyCollection()
            for (index, file) in settings.publicKeyFiles.enumerated() {
                guard let pem = HostFile.readIfPresent(file, limit: 64 * 1024) else {
                    throw AccessControlError("auth.jwt.public_key_files: cannot read \(file)")
                }
                // A kid per key, so that several keys of one algorithm can be tried in turn.
                let kid = JWKIdentifier(string: "key-\(index)")
                if let key = try? ES256PublicKey(pem: pem) {
                    await keys.add(ecdsa: key, kid: kid)
                    algorithms.insert("ES256")
                } else if let key = try? EdDSA.PublicKey(pem: pem) {
                    await keys.add(eddsa: key, kid: kid)
                    algorithms.insert("EdDSA")
                } else {
                    throw AccessControlError("auth.jwt.public_key_files: \(file) is not a P-256 (ES256) or Ed25519 (EdDSA) public key in PEM")
                }
            }
            asymmetric = keys
        }
        asymmetricAlgorithms = algorithms
    }

    /// The longest `sub` accepted, in UTF-8 bytes: it becomes the client id in logs, audit records and rate limits.
    public static let maximumSubjectBytes = 256

    /// The subject and role of a valid token.
    public func verify(_ token: Substring) async throws(Failure) -> Claims {
        let payload = try await verifiedPayload(token)
        // Claims of the wrong type are named after the signature verified (an unsigned token learns nothing).
        if let problem = payload.typeProblems.first { throw Failure(message: problem) }
        if payload.nonTextClaims.contains(settings.roleClaim) {
            throw Failure(message: "claim \(settings.roleClaim) must be a string or a list of strings")
        }
        guard let subject = payload.sub, !subject.isEmpty else { throw Failure(message: "token has no sub") }
        guard subject.utf8.count <= Self.maximumSubjectBytes else {
            throw Failure(message: "claim sub is longer than \(Self.maximumSubjectBytes) bytes")
        }
        let now = wallClock()
        let leeway = settings.leeway.secondsDouble
        guard let exp = payload.exp else { throw Failure(message: "token has no exp") }
        guard now <= exp + leeway else { throw Failure(message: "token expired") }
        if let nbf = payload.nbf, now + leeway < nbf { throw Failure(message: "token not valid yet") }
        if let issuer = settings.issuer, payload.iss != issuer { throw Failure(message: "wrong issuer") }
        if let audience = settings.audience, !payload.aud.contains(audience) { throw Failure(message: "wrong audience") }
        let role = (payload.claims[settings.roleClaim] ?? []).compactMap(AccessRole.init(name:)).max()
        return Claims(subject: subject, role: role, expiresAt: exp + leeway)
    }

    /// The payload of a token whose signature verifies with a key of its header's algorithm.
    private func verifiedPayload(_ token: Substring) async throws(Failure) -> Payload {
        if let payload = verified.get(token) { return payload }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Self.base64URLDecode(parts[0]),
            let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes))
        else { throw Failure(message: "malformed token") }
        let collection: JWTKeyCollection?
        switch header.alg {
        case "HS256": collection = hmac
        case let alg where asymmetricAlgorithms.contains(alg): collection = asymmetric
        default: collection = nil
        }
        guard let keys = collection else {
            // The name is the client's: echoed only when it looks like an algorithm name.
            let shown = header.alg.utf8.count <= 16 && header.alg.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
            throw Failure(message: "algorithm \(shown ? header.alg : "(unprintable)") is not accepted")
        }
        let payload: Payload
        do {
            payload = try await keys.verify(Array(token.utf8), as: Payload.self, iteratingKeys: true)
        } catch {
            throw Failure(message: "signature does not verify")
        }
        // Only what verified is remembered, under the exact token text (copied out of the request's header).
        verified.put(Substring(String(token)), payload)
        return payload
    }

    struct Header: Decodable {
        var alg: String
    }

    /// Every claim: the registered ones typed, any other string or list of strings by name.
    ///
    /// Decoding never fails on a claim of the wrong type: the problem is recorded in ``typeProblems`` (or the name in
    /// ``nonTextClaims``) and reported once the signature verified, rather than as a signature failure.
    struct Payload: JWTPayload {
        var exp: Double?
        var nbf: Double?
        var iss: String?
        var sub: String?
        var aud: [String] = []
        var claims: [String: [String]] = [:]
        /// `claim exp must be a number`, … in the order the claims were read.
        var typeProblems: [String] = []
        /// Names of other claims that are neither a string nor a list of strings.
        var nonTextClaims: Set<String> = []

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                switch key.stringValue {
                case "exp", "nbf":
                    guard let value = try? container.decode(Double.self, forKey: key), value.isFinite else {
                        typeProblems.append("claim \(key.stringValue) must be a number (seconds since 1970)")
                        continue
                    }
                    if key.stringValue == "exp" { exp = value } else { nbf = value }
                case "iss", "sub":
                    guard let value = try? container.decode(String.self, forKey: key) else {
                        typeProblems.append("claim \(key.stringValue) must be a string")
                        continue
                    }
                    if key.stringValue == "iss" { iss = value } else { sub = value }
                case "aud":
                    if let one = try? container.decode(String.self, forKey: key) {
                        aud = [one]
                    } else if let many = try? container.decode([String].self, forKey: key) {
                        aud = many
                    } else {
                        typeProblems.append("claim aud must be a string or a list of strings")
                    }
                default:
                    if let one = try? container.decode(String.self, forKey: key) {
                        claims[key.stringValue] = [one]
                    } else if let many = try? container.decode([String].self, forKey: key) {
                        claims[key.stringValue] = many
                    } else {
                        nonTextClaims.insert(key.stringValue)
                    }
                }
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encodeIfPresent(exp, forKey: Key(stringValue: "exp"))
            try container.encodeIfPresent(nbf, forKey: Key(stringValue: "nbf"))
            try container.encodeIfPresent(iss, forKey: Key(stringValue: "iss"))
            try container.encodeIfPresent(sub, forKey: Key(stringValue: "sub"))
            try container.encode(aud, forKey: Key(stringValue: "aud"))
            for (name, values) in claims { try container.encode(values, forKey: Key(stringValue: name)) }
        }

        /// Time, issuer and audience are checked by ``JWTVerifier/verify(_:)`` with the configured leeway.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacing("-", with: "+").replacing("_", with: "/")
        while base64.utf8.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: String(base64)).map(Array.init)
    }
}
