//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
@testable import AgentServer
import Dispatch
import Glibc
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The credential path of every request (AccessMiddleware.authenticate): the input is the value of the
/// `Authorization` header, then of `X-API-Key`, against one API key and HS256 JWTs with a fixed secret (no network, no
/// server). The corpus holds that key and tokens signed with that secret.
///
/// Invariants: only the known key authenticates as an API key, with its name and role; a JWT principal has a non-empty
/// subject of at most 256 bytes; a request with no credential at all is anonymous.
struct AuthorizationTarget: FuzzTarget {
    /// The API key of the corpus (`vwk_` + 32 hex digits of salt + `_` + 64 hex digits).
    static let apiKey = "vwk_00112233445566778899aabbccddeeff_" + String(repeating: "0123456789abcdef", count: 4)
    /// The HS256 secret of the corpus's tokens.
    static let secret = "viworks-fuzz-hs256-secret-0123456789abcdef"
    /// The wall clock of JWT checks: 2026-01-01T00:00:00Z, so that the corpus's tokens stay valid (or expired) forever.
    static let now: Double = 1_767_225_600

    let control: AccessControl

    init() {
        var template = Array("/tmp/viworks-fuzz-jwt.XXXXXX".utf8CString)
        guard let directory = mkdtemp(&template) else { fatalError("mkdtemp: errno \(errno)") }
        let secretFile = String(cString: directory) + "/hs256.key"
        guard let file = fopen(secretFile, "w"), fputs(Self.secret, file) >= 0, fclose(file) == 0 else { fatalError("cannot write \(secretFile)") }
        var jwtSettings = JWTSettings()
        jwtSettings.hs256SecretFile = secretFile
        let settings = jwtSettings
        let salt: [UInt8] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
        let keys = APIKeyStore([APIKeyEntry(name: "fuzz", role: .operator, hash: APIKeyStore.hash(key: Self.apiKey, salt: salt))])
        let verifier = Self.blocking { () async -> JWTVerifier? in try? await JWTVerifier(settings: settings, wallClock: { Self.now }) }
        guard let verifier else { fatalError("JWTVerifier refused the fixed secret") }
        control = AccessControl(
            anonymousRole: nil, apiKeys: keys, jwt: verifier, allowlist: nil, trustedProxies: nil, rateLimiter: nil,
            rateLimits: RateLimitSettings(), limits: RequestLimitSettings())
    }

    func run(_ input: UnsafeRawBufferPointer) {
        let value = String(decoding: input, as: UTF8.self)
        let control = control
        for name in [HTTPField.Name.authorization, .xAPIKey] {
            var fields = HTTPFields()
            fields[name] = value
            let head = HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1", path: "/api/v1/status", headerFields: fields)
            let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
            let outcome = Self.blocking { () async -> Principal?? in
                do {
                    return .some(try await AccessMiddleware.authenticate(request, control))
                } catch {
                    return .none
                }
            }
            guard case .some(let principal) = outcome else { continue }
            guard let principal else {
                if request.headers[.authorization] != nil || request.headers[.xAPIKey] != nil {
                    fatalError("a request with a credential (\(value.debugDescription)) was taken as anonymous")
                }
                continue
            }
            switch principal.method {
            case .apiKey:
                guard principal.id == "key:fuzz", principal.role == .operator, value.contains(Self.apiKey) else {
                    fatalError("\(value.debugDescription) authenticated as \(principal)")
                }
            case .jwt:
                let subject = principal.id.dropFirst(4)
                guard principal.id.hasPrefix("jwt:"), !subject.isEmpty, subject.utf8.count <= JWTVerifier.maximumSubjectBytes else {
                    fatalError("\(value.debugDescription) authenticated as \(principal)")
                }
            case .anonymous:
                fatalError("\(value.debugDescription) gave an anonymous principal without an anonymous role")
            }
        }
    }

    /// Runs `body` on the concurrency pool and waits for it (libFuzzer calls targets synchronously).
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let result = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            let value = await body()
            result.value.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        guard let value = result.value.withLock({ $0 }) else { fatalError("the task ended without a result") }
        return value
    }

    final class Outcome<T: Sendable>: Sendable {
        let value = Mutex<T?>(nil)
    }
}
