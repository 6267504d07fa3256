//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Crypto
import Foundation
import JWTKit
import SwiftASN1
import X509

@testable import AgentServer

/// A temporary directory removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "viworks-security-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A test certificate authority made at test time with swift-certificates: nothing private is committed.
struct TestPKI {
    let caKey = P256.Signing.PrivateKey()
    let caName: DistinguishedName
    let ca: Certificate

    init(name: String = "viworks test CA") throws {
        caName = try DistinguishedName { CommonName(name) }
        let now = Date()
        ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
            },
            issuerPrivateKey: .init(caKey))
    }

    var caPEM: String { (try? ca.serializeAsPEM().pemString) ?? "" }

    /// A leaf for `localhost` and 127.0.0.1: (certificate PEM, key PEM, serial bytes).
    func leaf(
        serial: [UInt8], validFrom: Date = Date() - 3600, validUntil: Date = Date() + 86_400, key: P256.Signing.PrivateKey = P256.Signing.PrivateKey(),
        clientAuth: Bool = false
    ) throws -> (cert: String, key: String, serial: [UInt8]) {
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial), publicKey: .init(key.publicKey),
            notValidBefore: validFrom, notValidAfter: validUntil, issuer: caName,
            subject: try DistinguishedName { CommonName(clientAuth ? "client" : "localhost") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                try ExtendedKeyUsage([clientAuth ? .clientAuth : .serverAuth])
            },
            issuerPrivateKey: .init(caKey))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation, serial)
    }
}

/// Claims of a test token.
struct TestClaims: JWTPayload {
    var sub: String
    var exp: Int?
    var nbf: Int?
    var iss: String?
    var aud: String?
    var role: String?

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

enum TestTokens {
    static let secret = "0123456789abcdef0123456789abcdef-test-only"

    static func hs256(_ claims: TestClaims, secret: String = secret) async throws -> String {
        try await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256).sign(claims)
    }

    static func es256(_ claims: TestClaims, key: ES256PrivateKey) async throws -> String {
        try await JWTKeyCollection().add(ecdsa: key).sign(claims)
    }

    static func eddsa(_ claims: TestClaims, key: EdDSA.PrivateKey) async throws -> String {
        try await JWTKeyCollection().add(eddsa: key).sign(claims)
    }

    /// `{"alg":"none"}` with an empty signature.
    static func none(_ claims: TestClaims) throws -> String {
        let header = base64URL(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let payload = base64URL(Array(try JSONEncoder().encode(claims)))
        return "\(header).\(payload)."
    }

    /// HS256 signed with `secret` bytes (e.g. a public key's PEM, for the algorithm-confusion attack).
    static func hs256Raw(_ claims: TestClaims, secretBytes: [UInt8]) throws -> String {
        let header = base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = base64URL(Array(try JSONEncoder().encode(claims)))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(header).\(payload)".utf8), using: SymmetricKey(data: secretBytes))
        return "\(header).\(payload).\(base64URL(Array(mac)))"
    }

    /// HS256 over a payload written as JSON text (claims of any type), signed with `secretBytes`.
    static func hs256JSON(_ payloadJSON: String, secretBytes: [UInt8] = Array(secret.utf8)) -> String {
        let header = base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = base64URL(Array(payloadJSON.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(header).\(payload)".utf8), using: SymmetricKey(data: secretBytes))
        return "\(header).\(payload).\(base64URL(Array(mac)))"
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static var now: Int { Int(Date().timeIntervalSince1970) }
}

/// A monotonic clock tests move by hand.
final class ManualClock: Sendable {
    private let seconds: Mutex<Double>

    init(_ start: Double = 1000) {
        seconds = Mutex(start)
    }

    var now: Double { seconds.withLock { $0 } }

    func advance(_ delta: Double) {
        seconds.withLock { $0 += delta }
    }
}

import Synchronization
