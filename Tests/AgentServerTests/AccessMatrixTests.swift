//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import NIOCore
import Testing

@testable import AgentServer

/// One credential of the matrix and the role it proves (nil: it proves nothing).
struct MatrixCredential: CustomStringConvertible {
    var description: String
    var headers: HTTPFields
    var role: AccessRole?
    /// Whether a credential was presented (a bad one is a 401 even where no credential would be a 401 too).
    var presented: Bool
}

/// Configured credentials: a viewer and an admin API key, an HS256 secret and an ES256 public key.
struct MatrixFixture {
    let directory: TemporaryDirectory
    let settings: SecuritySettings
    let credentials: [MatrixCredential]

    init() async throws {
        directory = try TemporaryDirectory()
        let viewer = APIKeyStore.generate()
        let admin = APIKeyStore.generate()
        let ecKey = ES256PrivateKey()
        var settings = SecuritySettings()
        settings.auth.apiKeys = [
            APIKeyEntry(name: "dashboard", role: .viewer, hash: viewer.hash), APIKeyEntry(name: "ops", role: .admin, hash: admin.hash),
        ]
        settings.auth.jwt.hs256SecretFile = try directory.write("secret", TestTokens.secret)
        settings.auth.jwt.publicKeyFiles = [try directory.write("ec.pem", ecKey.publicKey.pemRepresentation)]
        settings.rateLimit.requestsPerMinute = 1_000_000
        self.settings = settings
        let now = TestTokens.now
        let operatorToken = try await TestTokens.hs256(TestClaims(sub: "ci", exp: now + 300, role: "operator"))
        let expired = try await TestTokens.es256(TestClaims(sub: "old", exp: now - 3600, role: "admin"), key: ecKey)
        let none = try TestTokens.none(TestClaims(sub: "mallory", exp: now + 300, role: "admin"))
        credentials = [
            MatrixCredential(description: "no credential", headers: [:], role: nil, presented: false),
            MatrixCredential(description: "bad key", headers: [.authorization: "Bearer \(APIKeyStore.generate().key)"], role: nil, presented: true),
            MatrixCredential(description: "expired JWT", headers: [.authorization: "Bearer \(expired)"], role: nil, presented: true),
            MatrixCredential(description: "alg:none JWT", headers: [.authorization: "Bearer \(none)"], role: nil, presented: true),
            MatrixCredential(description: "viewer (X-API-Key)", headers: [.xAPIKey: viewer.key], role: .viewer, presented: true),
            MatrixCredential(description: "operator (HS256 JWT)", headers: [.authorization: "Bearer \(operatorToken)"], role: .operator, presented: true),
            MatrixCredential(description: "admin (API key)", headers: [.authorization: "Bearer \(admin.key)"], role: .admin, presented: true),
        ]
    }
}

struct AccessMatrixTests {
    /// The request a route gets in the matrix: `{name}` is a plugin that does not exist.
    static func uri(_ route: RouteDescription) -> String {
        route.path.replacing(/\{[a-z]+\}/, with: "nope")
    }

    static func readyAgent() -> FakeAgent {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(cpu50))
        agent.apply("memory", .memory(memory))
        return agent
    }

    /// Every route × {no credential, bad key, expired JWT, alg:none JWT, viewer, operator, admin} × {allowed, denied address},
    /// over real sockets from 127.0.0.1. The expected status of an allowed cell is what the unrestricted server answers.
    @Test func everyRouteEveryCredentialEveryAddress() async throws {
        let fixture = try await MatrixFixture()
        defer { fixture.directory.cleanup() }
        let agent = Self.readyAgent()

        let baseline = try await Application(router: APIServer.buildRouter(dependencies: agent.dependencies)).test(.router) { client in
            var statuses: [RouteDescription: HTTPResponse.Status] = [:]
            for route in declaredRoutes {
                statuses[route] = try await client.execute(uri: Self.uri(route), method: route.method).status
            }
            return statuses
        }
        // Whatever a route answers without access control (404 for the missing plugin, 503 without a services
        // collector), it is never an access-control status.
        #expect(baseline.values.allSatisfy { ![401, 403, 429].contains($0.code) }, "\(baseline)")

        var cells = 0
        for allowed in [true, false] {
            var settings = fixture.settings
            settings.access.allow = allowed ? ["127.0.0.0/8", "::1"] : ["10.0.0.0/8", "2001:db8::/32"]
            let control = try await AccessControl(settings: settings, listenHost: "0.0.0.0")
            #expect(control.anonymousRole == nil)
            let app = Application(router: APIServer.buildRouter(dependencies: agent.dependencies, access: AccessControlState(control)))
            cells += try await app.test(.live) { client in
                var cells = 0
                for route in declaredRoutes {
                    for credential in fixture.credentials {
                        let response = try await client.execute(uri: Self.uri(route), method: route.method, headers: credential.headers)
                        let expected: HTTPResponse.Status
                        let code: String?
                        if !allowed {
                            (expected, code) = (.forbidden, "address_not_allowed")
                        } else if route.access == .public {
                            (expected, code) = (baseline[route] ?? .ok, nil)
                        } else if credential.role == nil {
                            (expected, code) = (.unauthorized, "unauthorized")
                        } else if let role = credential.role, let required = route.access.role, role < required {
                            (expected, code) = (.forbidden, "forbidden")
                        } else {
                            (expected, code) = (baseline[route] ?? .ok, nil)
                        }
                        let cell = "\(route.method) \(route.path) × \(credential) × \(allowed ? "allowed" : "denied") address"
                        #expect(response.status == expected, "\(cell): \(String(buffer: response.body))")
                        if let code {
                            let error = try #require(try json(response.body)["error"] as? [String: String], "\(cell)")
                            #expect(error["code"] == code, "\(cell)")
                        }
                        if expected == .unauthorized {
                            #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer realm=\"viworks-agent\"") == true, "\(cell)")
                        }
                        #expect(response.headers[.xRequestID]?.utf8.count == 32, "\(cell)")
                        cells += 1
                    }
                }
                return cells
            }
        }
        #expect(cells == declaredRoutes.count * 7 * 2)
    }

    @Test func loopbackWithoutCredentialsReadsAnonymouslyButCannotChange() async throws {
        let control = try await AccessControl(settings: SecuritySettings(), listenHost: "127.0.0.1")
        #expect(control.anonymousRole == .viewer)
        #expect(try await AccessControl(settings: SecuritySettings(), listenHost: "0.0.0.0").anonymousRole == nil)
        let agent = Self.readyAgent()
        let app = Application(router: APIServer.buildRouter(dependencies: agent.dependencies, access: AccessControlState(control)))
        try await app.test(.router) { client in
            for route in declaredRoutes {
                let status = try await client.execute(uri: Self.uri(route), method: route.method).status
                if route.access <= .viewer {
                    #expect(status != .unauthorized && status != .forbidden, "\(route.path)")
                } else {
                    #expect(status == .unauthorized, "\(route.method) \(route.path)")
                }
            }
        }
    }

    @Test func everyRouteDeclaresItsAccessAndChangesNeedMoreThanViewer() {
        for route in declaredRoutes where route.method != .get {
            #expect(route.access >= .operator, "\(route.method) \(route.path)")
        }
        let access = Dictionary(uniqueKeysWithValues: declaredRoutes.map { ("\($0.method) \($0.path)", $0.access) })
        #expect(access["POST /api/v1/command"] == .admin)
        #expect(access["GET /api/v1/audit"] == .admin)
        #expect(access["POST /api/v1/services/{name}/restart"] == .operator)
        #expect(access["GET /api/v1/status"] == .viewer)
        #expect(declaredRoutes.first { $0.path == "/api/v1/health" }?.access == .public)
        #expect(RouteDescription(.post, "/api/v1/command", "x").access == .admin, "a new POST route defaults to admin")
    }
}

struct RequestLimitTests {
    func app(_ configure: (inout SecuritySettings) -> Void, clock: ManualClock = ManualClock()) async throws -> some ApplicationProtocol {
        var settings = SecuritySettings()
        configure(&settings)
        let control = try await AccessControl(settings: settings, listenHost: "127.0.0.1", monotonicSeconds: { clock.now })
        return Application(router: APIServer.buildRouter(dependencies: AccessMatrixTests.readyAgent().dependencies, access: AccessControlState(control)))
    }

    @Test func theHundredAndFirstRequestIs429WithRetryAfterAndRateLimitHeaders() async throws {
        let clock = ManualClock()
        try await app({ _ in }, clock: clock).test(.router) { client in
            for index in 1...100 {
                let response = try await client.execute(uri: "/api/v1/status-simple", method: .get)
                #expect(response.status == .ok, "request \(index)")
                #expect(response.headers[.rateLimitLimit] == "100")
                #expect(response.headers[.rateLimitRemaining] == "\(100 - index)")
            }
            let refused = try await client.execute(uri: "/api/v1/status-simple", method: .get)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] == "1")
            #expect(refused.headers[.rateLimitRemaining] == "0")
            #expect(refused.headers[.rateLimitReset] == "60")
            #expect(try json(refused.body)["error"] as? [String: String] == ["code": "rate_limited", "message": "more than 100 requests per minute; retry in 1 s"])
            clock.advance(0.6)
            #expect(try await client.execute(uri: "/api/v1/status-simple", method: .get).status == .ok)
        }
    }

    @Test func perRoleLimitsFollowTheCredential() async throws {
        let admin = APIKeyStore.generate()
        try await app { settings in
            settings.auth.apiKeys = [APIKeyEntry(name: "ops", role: .admin, hash: admin.hash)]
            settings.auth.anonymousRole = "viewer"
            settings.rateLimit.perRole[.admin] = 2
        }.test(.router) { client in
            for _ in 1...2 { #expect(try await client.execute(uri: "/api/v1/system", method: .get, headers: [.xAPIKey: admin.key]).status == .ok) }
            let refused = try await client.execute(uri: "/api/v1/system", method: .get, headers: [.xAPIKey: admin.key])
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] == "30")
            // The key's bucket is not the address's: anonymous reads still pass.
            #expect(try await client.execute(uri: "/api/v1/system", method: .get).status == .ok)
        }
    }

    @Test func bodyURLAndHeaderLimits() async throws {
        try await app { settings in
            settings.limits.maxBodyBytes = 1024
            settings.limits.maxURLBytes = 512
            settings.limits.maxHeaderBytes = 2048
            settings.auth.anonymousRole = "operator"
        }.test(.router) { client in
            let big = try await client.execute(uri: "/api/v1/plugins/reload", method: .post, body: ByteBuffer(repeating: 0x41, count: 1025))
            #expect(big.status == .contentTooLarge)
            #expect(try json(big.body)["error"] as? [String: String] == ["code": "payload_too_large", "message": "the request body is larger than 1024 bytes"])
            #expect(try await client.execute(uri: "/api/v1/plugins/reload", method: .post, body: ByteBuffer(repeating: 0x41, count: 1024)).status == .ok)
            let long = try await client.execute(uri: "/api/v1/status?" + String(repeating: "q", count: 600), method: .get)
            #expect(long.status == .uriTooLong)
            #expect((try json(long.body)["error"] as? [String: String])?["code"] == "uri_too_long")
            let headers = try await client.execute(uri: "/api/v1/status", method: .get, headers: [.cookie: String(repeating: "c", count: 3000)])
            #expect(headers.status == .requestHeaderFieldsTooLarge)
            #expect((try json(headers.body)["error"] as? [String: String])?["code"] == "headers_too_large")
        }
    }

    @Test func requestIDsAreEchoedWhenSaneAndGeneratedOtherwise() async throws {
        try await app { _ in }.test(.router) { client in
            let echoed = try await client.execute(uri: "/api/v1/status", method: .get, headers: [.xRequestID: "poller-42:a.b_c"])
            #expect(echoed.headers[.xRequestID] == "poller-42:a.b_c")
            for insane in ["has space", String(repeating: "x", count: 129), "semi;colon"] {
                let response = try await client.execute(uri: "/api/v1/status", method: .get, headers: [.xRequestID: insane])
                let id = try #require(response.headers[.xRequestID])
                #expect(id != insane && id.utf8.count == 32)
            }
            // Errors carry it too.
            let missing = try await client.execute(uri: "/nope", method: .get, headers: [.xRequestID: "trace-1"])
            #expect(missing.status == .notFound && missing.headers[.xRequestID] == "trace-1")
            let first = try await client.execute(uri: "/api/v1/status", method: .get).headers[.xRequestID]
            let second = try await client.execute(uri: "/api/v1/status", method: .get).headers[.xRequestID]
            #expect(first != nil && first != second)
        }
    }
}

struct OpenAPISecurityTests {
    @Test func everyOperationDeclaresTheSecurityOfItsRoute() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: try openAPIResource()) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
        let components = try #require(document["components"] as? [String: Any])
        let schemes = try #require(components["securitySchemes"] as? [String: Any])
        #expect(Set(schemes.keys) == ["apiKeyBearer", "jwtBearer", "apiKeyHeader"])
        for route in declaredRoutes {
            let operation = try #require(paths[route.path]?[route.method.rawValue.lowercased()], "\(route.path)")
            let security = try #require(operation["security"] as? [[String: [String]]], "\(route.path)")
            if let role = route.access.role {
                #expect(security == ["apiKeyBearer", "jwtBearer", "apiKeyHeader"].map { [$0: ["\(role)"]] }, "\(route.method) \(route.path)")
                #expect(operation["x-viworks-role"] as? String == "\(role)")
            } else {
                #expect(security == [[:]], "\(route.path)")
                #expect(operation["x-viworks-role"] as? String == "public")
            }
        }
    }
}
