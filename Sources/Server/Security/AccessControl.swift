//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// A problem building the access control from the configuration (a key file that does not parse, a bad CIDR).
public struct AccessControlError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Who is asking: the credential's name and role.
public struct Principal: Sendable, Hashable {
    public enum Method: String, Sendable {
        case apiKey = "api_key"
        case jwt
        case anonymous
    }

    /// `key:<name>`, `jwt:<sub>` or `anonymous`: the client id of rate limits and logs.
    public var id: String
    public var role: AccessRole?
    public var method: Method
    /// Unix seconds after which the credential is refused (a JWT's `exp` plus the leeway); nil when it does not expire.
    public var expiresAt: Double? = nil
}

/// Everything the access middleware needs, built once from ``SecuritySettings`` (and again on reload).
public struct AccessControl: Sendable {
    /// The role of a request without credentials; nil asks every non-public route for credentials.
    public var anonymousRole: AccessRole?
    public var apiKeys: APIKeyStore
    public var jwt: JWTVerifier?
    /// nil lets every address in.
    public var allowlist: IPAllowlist?
    public var trustedProxies: IPAllowlist?
    public var rateLimiter: RateLimiter?
    public var rateLimits: RateLimitSettings
    public var limits: RequestLimitSettings

    /// No credentials needed, no address or rate limits: what tests and embedders get unless they say otherwise.
    public static let unrestricted = AccessControl(
        anonymousRole: .admin, apiKeys: APIKeyStore([]), jwt: nil, allowlist: nil, trustedProxies: nil, rateLimiter: nil,
        rateLimits: RateLimitSettings(), limits: RequestLimitSettings())

    public init(
        anonymousRole: AccessRole?, apiKeys: APIKeyStore, jwt: JWTVerifier?, allowlist: IPAllowlist?, trustedProxies: IPAllowlist?,
        rateLimiter: RateLimiter?, rateLimits: RateLimitSettings, limits: RequestLimitSettings
    ) {
        self.anonymousRole = anonymousRole
        self.apiKeys = apiKeys
        self.jwt = jwt
        self.allowlist = allowlist
        self.trustedProxies = trustedProxies
        self.rateLimiter = rateLimiter
        self.rateLimits = rateLimits
        self.limits = limits
    }

    /// Builds the access control of `settings` for an agent listening on `listenHost`.
    /// - Parameters:
    ///   - monotonicSeconds: the rate limiter's clock.
    ///   - wallClock: Unix seconds, for JWT `exp` and `nbf`.
    public init(
        settings: SecuritySettings, listenHost: String, monotonicSeconds: @escaping @Sendable () -> Double = MonotonicClock.bootTimeSeconds,
        wallClock: (@Sendable () -> Double)? = nil
    ) async throws(AccessControlError) {
        anonymousRole = settings.anonymousRole(listenHost: listenHost)
        apiKeys = APIKeyStore(settings.auth.apiKeys)
        if settings.auth.jwt.isEnabled {
            if let wallClock {
                jwt = try await JWTVerifier(settings: settings.auth.jwt, wallClock: wallClock)
            } else {
                jwt = try await JWTVerifier(settings: settings.auth.jwt)
            }
        } else {
            jwt = nil
        }
        allowlist = settings.access.allow.isEmpty ? nil : try IPAllowlist(settings.access.allow)
        trustedProxies = settings.access.trustedProxies.isEmpty ? nil : try IPAllowlist(settings.access.trustedProxies)
        let limited = settings.rateLimit.requestsPerMinute > 0 || settings.rateLimit.perRole.values.contains { $0 > 0 }
        rateLimiter = limited ? RateLimiter(maxClients: settings.rateLimit.maxClients, now: monotonicSeconds) : nil
        rateLimits = settings.rateLimit
        limits = settings.limits
    }
}
