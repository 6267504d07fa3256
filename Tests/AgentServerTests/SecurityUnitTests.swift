//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Crypto
import Foundation
import JWTKit
import NIOCore
import Testing

@testable import AgentServer

struct IPAllowlistTests {
    @Test func ipv4AndIPv6Blocks() throws {
        let list = try IPAllowlist(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1"])
        #expect(list.contains(try #require(IPAddressBits("10.200.3.4"))))
        #expect(!list.contains(try #require(IPAddressBits("11.0.0.1"))))
        #expect(list.contains(try #require(IPAddressBits("192.0.2.7"))))
        #expect(!list.contains(try #require(IPAddressBits("192.0.2.8"))))
        #expect(list.contains(try #require(IPAddressBits("2001:db8:ffff::1"))))
        #expect(!list.contains(try #require(IPAddressBits("2001:db9::1"))))
        #expect(list.contains(try #require(IPAddressBits("::1"))))
        #expect(!list.contains(try #require(IPAddressBits("::2"))))
    }

    @Test func ipv4MappedIPv6AddressesMatchIPv4Blocks() throws {
        let list = try IPAllowlist(["127.0.0.0/8", "192.168.1.0/24"])
        // What a dual-stack socket reports for an IPv4 client.
        #expect(list.contains(try #require(IPAddressBits("::ffff:127.0.0.1"))))
        #expect(list.contains(try #require(IPAddressBits("::ffff:192.168.1.77"))))
        #expect(!list.contains(try #require(IPAddressBits("::ffff:192.168.2.1"))))
        // And from a real socket address.
        let mapped = try SocketAddress(ipAddress: "::ffff:192.168.1.9", port: 1)
        #expect(list.contains(try #require(IPAddressBits(mapped))))
        let v4 = try SocketAddress(ipAddress: "192.168.1.9", port: 1)
        #expect(list.contains(try #require(IPAddressBits(v4))))
        // An IPv6 block written for mapped addresses matches plain IPv4 clients.
        #expect(try IPAllowlist(["::ffff:10.0.0.0/104"]).contains(try #require(IPAddressBits("10.1.2.3"))))
        #expect(IPAddressBits("::ffff:10.1.2.3")?.description == "10.1.2.3")
    }

    /// The peer's bits come from the socket address's bytes: the same as the text, the zone left out, a Unix socket none.
    @Test func socketAddressesGiveTheBitsOfTheirText() throws {
        for text in ["127.0.0.1", "192.168.1.9", "0.0.0.0", "255.255.255.255", "::1", "::", "2001:db8::8a2e:370:7334", "::ffff:10.1.2.3", "fe80::1"] {
            let bits = try #require(IPAddressBits(try SocketAddress(ipAddress: text, port: 9740)))
            #expect(bits == IPAddressBits(text), "\(text)")
        }
        let v4 = try #require(IPAddressBits(try SocketAddress(ipAddress: "192.0.2.1", port: 1)))
        #expect((v4.high, v4.low) == (0, 0x0000_ffff_c000_0201))
        let v6 = try #require(IPAddressBits(try SocketAddress(ipAddress: "2001:db8::8a2e:370:7334", port: 1)))
        #expect((v6.high, v6.low) == (0x2001_0db8_0000_0000, 0x0000_8a2e_0370_7334))
        let zoned = try #require(IPAddressBits(try SocketAddress(ipAddress: "fe80::1%lo", port: 1)))
        #expect(zoned == IPAddressBits("fe80::1"))
        #expect(IPAddressBits(try SocketAddress(unixDomainSocketPath: "/run/viworks.sock")) == nil)
        #expect(IPAddressBits(nil as SocketAddress?) == nil)
    }

    @Test func malformedBlocksAreRejected() {
        for bad in ["10.0.0.0/33", "10.0.0", "1.2.3.256", "2001:db8::/129", "2001:::1", "fe80::1%eth0", "10.0.0.0/-1", "", "abc"] {
            #expect(throws: AccessControlError.self, "\(bad)") { try IPAllowlist([bad]) }
        }
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() throws {
        let proxies = try IPAllowlist(["10.0.0.1", "10.0.0.2"])
        let proxy = try #require(IPAddressBits("10.0.0.1"))
        let stranger = try #require(IPAddressBits("203.0.113.9"))
        #expect(proxies.clientAddress(peer: proxy, forwardedFor: "198.51.100.4").description == "198.51.100.4")
        // The right-most address that is not a trusted proxy: a client cannot prepend its own choice.
        #expect(proxies.clientAddress(peer: proxy, forwardedFor: "1.1.1.1, 198.51.100.4, 10.0.0.2").description == "198.51.100.4")
        #expect(proxies.clientAddress(peer: proxy, forwardedFor: "[2001:db8::5]:4711").description == "2001:db8:0:0:0:0:0:5")
        #expect(proxies.clientAddress(peer: stranger, forwardedFor: "127.0.0.1") == stranger)
        #expect(proxies.clientAddress(peer: proxy, forwardedFor: "garbage") == proxy)
    }
}

struct RateLimiterTests {
    @Test func theHundredAndFirstRequestIsRefusedWithRetryAfter() {
        let clock = ManualClock()
        let limiter = RateLimiter(maxClients: 100, now: { clock.now })
        for index in 1...100 {
            let decision = limiter.acquire(client: "ip:192.0.2.1", limit: 100)
            #expect(decision.allowed, "request \(index)")
            #expect(decision.remaining == 100 - index)
        }
        let refused = limiter.acquire(client: "ip:192.0.2.1", limit: 100)
        #expect(!refused.allowed)
        #expect(refused.retryAfterSeconds == 1)  // 100/min refills one token every 0.6 s
        #expect(refused.resetSeconds == 60)
        // Another client is not affected.
        #expect(limiter.acquire(client: "ip:192.0.2.2", limit: 100).allowed)
        clock.advance(0.5)
        #expect(!limiter.acquire(client: "ip:192.0.2.1", limit: 100).allowed)
        clock.advance(0.2)
        #expect(limiter.acquire(client: "ip:192.0.2.1", limit: 100).allowed)
        clock.advance(120)
        #expect(limiter.acquire(client: "ip:192.0.2.1", limit: 100).remaining == 99)
    }

    @Test func slowLimitsGiveLongerRetryAfter() {
        let clock = ManualClock()
        let limiter = RateLimiter(maxClients: 100, now: { clock.now })
        #expect(limiter.acquire(client: "a", limit: 2).allowed)
        #expect(limiter.acquire(client: "a", limit: 2).allowed)
        let refused = limiter.acquire(client: "a", limit: 2)
        #expect(!refused.allowed && refused.retryAfterSeconds == 30)
    }

    @Test func theClientTableIsBoundedAndForgetsTheLeastRecentlySeen() {
        let clock = ManualClock()
        let limiter = RateLimiter(maxClients: 64, now: { clock.now })
        for _ in 1...10 { _ = limiter.acquire(client: "busy", limit: 10) }
        #expect(!limiter.acquire(client: "busy", limit: 10).allowed)
        for index in 0..<10_000 {
            _ = limiter.acquire(client: "ip:\(index)", limit: 10)
            if index % 10 == 0 { _ = limiter.acquire(client: "busy", limit: 10) }  // recently seen: kept
        }
        #expect(limiter.clientCount <= 64)
        #expect(!limiter.acquire(client: "busy", limit: 10).allowed, "a busy client's empty bucket was forgotten")
    }
}

struct RequestIDTests {
    @Test func hexIsSixteenDigitsOfEachHalfHighNibbleFirst() {
        #expect(RequestIDMiddleware.hex(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210) == "0123456789abcdeffedcba9876543210")
        #expect(RequestIDMiddleware.hex(0, .max) == "0000000000000000ffffffffffffffff")
        #expect(RequestIDMiddleware.hex(0xa, 0x10) == "000000000000000a0000000000000010")
    }

    /// 256 ids use one batch of 4 KiB: 1,000 span four refills, and none repeats.
    @Test func generatedIdsAreSaneDistinctAndSurviveRefills() {
        let ids = (0..<1000).map { _ in RequestIDMiddleware.generate() }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { $0.utf8.count == 32 && $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } })
        #expect(ids.allSatisfy(RequestIDMiddleware.isSane))
        // Every nibble position takes more than one value (not a constant or a counter in disguise).
        for position in 0..<32 {
            let digits = Set(ids.map { Array($0.utf8)[position] })
            #expect(digits.count > 8, "position \(position)")
        }
    }
}

struct APIKeyStoreTests {
    @Test func generatedKeysVerifyAndOnlyTheirHashIsKept() throws {
        let (key, hash) = APIKeyStore.generate()
        #expect(key.hasPrefix("vwk_") && key.utf8.count == 101)
        #expect(APIKeyEntry.isWellFormedHash(hash))
        #expect(!hash.contains(String(key.dropFirst(37))), "the secret part must not appear in the hash line")
        let store = APIKeyStore([APIKeyEntry(name: "backend", role: .operator, hash: hash)])
        let match = try #require(store.authenticate(Substring(key)))
        #expect(match.name == "backend" && match.role == .operator)
        // One character off, a different key with the same salt, unknown salts, junk.
        var wrong = Array(key.utf8)
        wrong[wrong.count - 1] = wrong[wrong.count - 1] == 48 ? 49 : 48
        #expect(store.authenticate(Substring(String(decoding: wrong, as: UTF8.self))) == nil)
        #expect(store.authenticate(Substring(APIKeyStore.generate().key)) == nil)
        #expect(store.authenticate("vwk_short") == nil)
        #expect(store.authenticate(Substring(key + "x")) == nil)
    }

    @Test func theHashIsHMACSHA256OfTheKeyUnderItsSalt() {
        let salt = [UInt8](repeating: 0xab, count: 16)
        let key = "vwk_" + String(repeating: "ab", count: 16) + "_" + String(repeating: "0", count: 64)
        let expected = HMAC<SHA256>.authenticationCode(for: Array(key.utf8), using: SymmetricKey(data: salt))
        #expect(APIKeyStore.hash(key: key, salt: salt) == "hmac-sha256:\(String(repeating: "ab", count: 16)):\(APIKeyStore.hex(Array(expected)))")
    }
}

struct JWTVerifierTests {
    func verifier(_ configure: (inout JWTSettings, TemporaryDirectory) throws -> Void) async throws -> (JWTVerifier, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        var settings = JWTSettings()
        settings.hs256SecretFile = try directory.write("secret", TestTokens.secret + "\n")
        try configure(&settings, directory)
        return (try await JWTVerifier(settings: settings), directory)
    }

    @Test func hs256WithRoleExpiryIssuerAndAudience() async throws {
        let (verifier, directory) = try await verifier { settings, _ in
            settings.issuer = "https://issuer.example"
            settings.audience = "viworks"
            settings.leeway = .seconds(5)
        }
        defer { directory.cleanup() }
        let now = TestTokens.now
        let good = TestClaims(sub: "ci", exp: now + 60, nbf: now - 1, iss: "https://issuer.example", aud: "viworks", role: "operator")
        let claims = try await verifier.verify(Substring(try await TestTokens.hs256(good)))
        // The stream ends at exp plus the leeway, the moment the token is refused.
        #expect(claims == JWTVerifier.Claims(subject: "ci", role: .operator, expiresAt: Double(now + 60 + 5)))

        func refusal(_ claims: TestClaims, secret: String = TestTokens.secret) async throws -> String? {
            let token = try await TestTokens.hs256(claims, secret: secret)
            do {
                _ = try await verifier.verify(Substring(token))
                return nil
            } catch {
                return error.message
            }
        }
        var expired = good
        expired.exp = now - 10
        #expect(try await refusal(expired) == "token expired")
        var withinLeeway = good
        withinLeeway.exp = now - 2
        #expect(try await refusal(withinLeeway) == nil)
        var early = good
        early.nbf = now + 60
        #expect(try await refusal(early) == "token not valid yet")
        var noExpiry = good
        noExpiry.exp = nil
        #expect(try await refusal(noExpiry) == "token has no exp")
        var issuer = good
        issuer.iss = "https://evil.example"
        #expect(try await refusal(issuer) == "wrong issuer")
        var audience = good
        audience.aud = "other"
        #expect(try await refusal(audience) == "wrong audience")
        #expect(try await refusal(good, secret: TestTokens.secret + "x") == "signature does not verify")
        var unknownRole = good
        unknownRole.role = "root"
        #expect(try await verifier.verify(Substring(try await TestTokens.hs256(unknownRole))).role == nil)
    }

    @Test func aRememberedTokenStillExpires() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var settings = JWTSettings()
        settings.hs256SecretFile = try directory.write("secret", TestTokens.secret)
        settings.leeway = .zero
        let clock = ManualClock(Double(TestTokens.now))
        let verifier = try await JWTVerifier(settings: settings, wallClock: { clock.now })
        let token = try await TestTokens.hs256(TestClaims(sub: "poller", exp: TestTokens.now + 10, role: "viewer"))
        for _ in 0..<3 { #expect(try await verifier.verify(Substring(token)).role == .viewer) }
        clock.advance(11)
        await #expect(throws: JWTVerifier.Failure(message: "token expired")) { try await verifier.verify(Substring(token)) }
        // A token that failed is not remembered: the same bad token fails again for the same reason.
        let forged = try await TestTokens.hs256(TestClaims(sub: "x", exp: TestTokens.now + 600, role: "admin"), secret: TestTokens.secret + "!")
        for _ in 0..<2 {
            await #expect(throws: JWTVerifier.Failure(message: "signature does not verify")) { try await verifier.verify(Substring(forged)) }
        }
    }

    @Test func algNoneIsNeverAccepted() async throws {
        let (verifier, directory) = try await verifier { _, _ in }
        defer { directory.cleanup() }
        let token = try TestTokens.none(TestClaims(sub: "x", exp: TestTokens.now + 60, role: "admin"))
        await #expect(throws: JWTVerifier.Failure(message: "algorithm none is not accepted")) { try await verifier.verify(Substring(token)) }
    }

    @Test func es256AndEdDSAKeysAndNoAlgorithmConfusion() async throws {
        let ecKey = ES256PrivateKey()
        let edKey = try EdDSA.PrivateKey(curve: .ed25519)
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let ecPEM = ecKey.publicKey.pemRepresentation
        var settings = JWTSettings()
        settings.publicKeyFiles = [try directory.write("ec.pem", ecPEM), try directory.write("ed.pem", edKey.publicKey.pemRepresentation)]
        settings.roleClaim = "viworks_role"
        let verifier = try await JWTVerifier(settings: settings)
        struct Custom: JWTPayload {
            var sub: String
            var exp: Int
            var viworks_role: [String]
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let claims = Custom(sub: "svc", exp: TestTokens.now + 60, viworks_role: ["viewer", "admin"])
        let es = try await JWTKeyCollection().add(ecdsa: ecKey).sign(claims)
        #expect(try await verifier.verify(Substring(es)) == JWTVerifier.Claims(subject: "svc", role: .admin, expiresAt: Double(claims.exp + 30)))
        let ed = try await JWTKeyCollection().add(eddsa: edKey).sign(claims)
        #expect(try await verifier.verify(Substring(ed)).role == .admin)
        // A token signed by another key of the same algorithm.
        let stranger = try await JWTKeyCollection().add(ecdsa: ES256PrivateKey()).sign(claims)
        await #expect(throws: JWTVerifier.Failure(message: "signature does not verify")) { try await verifier.verify(Substring(stranger)) }
        // HS256 "signed" with the public key as the HMAC secret: the classic confusion attack.
        let confused = try TestTokens.hs256Raw(TestClaims(sub: "x", exp: TestTokens.now + 60, role: "admin"), secretBytes: Array(ecPEM.utf8))
        await #expect(throws: JWTVerifier.Failure(message: "algorithm HS256 is not accepted")) { try await verifier.verify(Substring(confused)) }
        await #expect(throws: JWTVerifier.Failure(message: "malformed token")) { try await verifier.verify("a.b") }
    }

    @Test func aBinaryHS256SecretIsUsedByteForByte() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var generator = SystemRandomNumberGenerator()
        // Whitespace bytes at both ends and bytes that are not UTF-8 (0xff, a lone continuation byte, a cut sequence).
        let secret: [UInt8] = [0x20, 0x09, 0x0a, 0xff] + (0..<40).map { _ in UInt8.random(in: 0...255, using: &generator) } + [0x80, 0xe2, 0x82, 0x0b, 0x20, 0x09]
        let claims = TestClaims(sub: "binary", exp: TestTokens.now + 60, role: "operator")
        let token = try TestTokens.hs256Raw(claims, secretBytes: secret)
        for (name, contents) in [("raw", secret), ("newline", secret + [0x0a]), ("crlf", secret + [0x0d, 0x0a])] {
            var settings = JWTSettings()
            settings.hs256SecretFile = try directory.write(name, bytes: contents)
            let verifier = try await JWTVerifier(settings: settings)
            #expect(try await verifier.verify(Substring(token)) == JWTVerifier.Claims(subject: "binary", role: .operator, expiresAt: Double((claims.exp ?? 0) + 30)), "\(name)")
            // What the file read as text would give (invalid bytes repaired, whitespace trimmed) is not the key.
            let asText = Array(String(decoding: secret, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            let textToken = try TestTokens.hs256Raw(claims, secretBytes: asText)
            await #expect(throws: JWTVerifier.Failure(message: "signature does not verify")) { try await verifier.verify(Substring(textToken)) }
        }
        #expect(try JWTSettings.readHS256Secret(file: directory.path + "/newline") == secret)
        // 31 bytes and a newline are too short; a missing file is named with the system's reason.
        #expect(throws: JWTSettings.SecretFileError.self) { try JWTSettings.readHS256Secret(file: try directory.write("short", bytes: Array(secret.prefix(31)) + [0x0a])) }
        do {
            _ = try JWTSettings.readHS256Secret(file: directory.path + "/absent")
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.description == "cannot read \(directory.path)/absent: No such file or directory")
        }
    }

    @Test func subIsRequiredAndClaimsOfTheWrongTypeAreNamed() async throws {
        let (verifier, directory) = try await verifier { _, _ in }
        defer { directory.cleanup() }
        let exp = TestTokens.now + 60
        func refusal(_ json: String, secret: [UInt8] = Array(TestTokens.secret.utf8)) async -> String? {
            do {
                _ = try await verifier.verify(Substring(TestTokens.hs256JSON(json, secretBytes: secret)))
                return nil
            } catch {
                return error.message
            }
        }
        #expect(await refusal(#"{"exp":\#(exp),"role":"admin"}"#) == "token has no sub")
        #expect(await refusal(#"{"sub":"","exp":\#(exp),"role":"admin"}"#) == "token has no sub")
        #expect(await refusal(#"{"sub":"\#(String(repeating: "s", count: 257))","exp":\#(exp),"role":"admin"}"#) == "claim sub is longer than 256 bytes")
        #expect(await refusal(#"{"sub":"\#(String(repeating: "s", count: 256))","exp":\#(exp),"role":"admin"}"#) == nil)
        #expect(await refusal(#"{"sub":42,"exp":\#(exp),"role":"admin"}"#) == "claim sub must be a string")
        #expect(await refusal(#"{"sub":"ci","exp":"\#(exp)","role":"admin"}"#) == "claim exp must be a number (seconds since 1970)")
        #expect(await refusal(#"{"sub":"ci","exp":\#(exp),"nbf":true,"role":"admin"}"#) == "claim nbf must be a number (seconds since 1970)")
        #expect(await refusal(#"{"sub":"ci","exp":\#(exp),"iss":["a"],"role":"admin"}"#) == "claim iss must be a string")
        #expect(await refusal(#"{"sub":"ci","exp":\#(exp),"aud":7,"role":"admin"}"#) == "claim aud must be a string or a list of strings")
        #expect(await refusal(#"{"sub":"ci","exp":\#(exp),"role":{"name":"admin"}}"#) == "claim role must be a string or a list of strings")
        #expect(await refusal(#"{"sub":"ci","exp":\#(exp),"role":3}"#) == "claim role must be a string or a list of strings")
        // Other claims of any type are ignored; a list of roles still works.
        let good = try await verifier.verify(Substring(TestTokens.hs256JSON(#"{"sub":"ci","exp":\#(exp),"role":["viewer","operator"],"scope":{"x":1}}"#)))
        #expect(good == JWTVerifier.Claims(subject: "ci", role: .operator, expiresAt: Double(exp + 30)))
        // The signature is checked first: a forged token learns nothing about its claims.
        #expect(await refusal(#"{"sub":42,"exp":"soon"}"#, secret: Array("another secret of more than 32 bytes!".utf8)) == "signature does not verify")
    }

    @Test func aKeyFileThatIsNotAKeyIsRefusedAtStart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var settings = JWTSettings()
        settings.publicKeyFiles = [try directory.write("junk.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")]
        await #expect(throws: AccessControlError.self) { try await JWTVerifier(settings: settings) }
        settings.publicKeyFiles = []
        settings.hs256SecretFile = try directory.write("short", "too short")
        await #expect(throws: AccessControlError.self) { try await JWTVerifier(settings: settings) }
    }
}
