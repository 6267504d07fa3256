//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The current ``AccessControl``, swapped as a whole on SIGHUP.
public final class AccessControlState: Sendable {
    private let box: Mutex<AccessControl>

    public init(_ control: AccessControl) {
        box = Mutex(control)
    }

    public var current: AccessControl { box.withLock { $0 } }

    /// Replaces the access control; a rate limiter with the same table size is kept, so a reload does not refill buckets.
    public func replace(_ control: AccessControl) {
        box.withLock { old in
            var control = control
            if let limiter = old.rateLimiter, control.rateLimiter?.maxClients == limiter.maxClients { control.rateLimiter = limiter }
            old = control
        }
    }
}

/// Access control of every request, in this order: request limits (414, 431, 413), the address allowlist (403),
/// credentials (401), the rate limit (429), the route's role (401 or 403).
///
/// Public routes (``RouteAccess/public``) skip credentials but not limits, allowlist and rate limit. A request that
/// presents a bad credential is charged to its address's bucket.
public struct AccessMiddleware: RouterMiddleware {
    public typealias Context = AgentRequestContext

    let state: AccessControlState
    let routes: RouteTable

    /// Writes refused requests on privileged routes (operator and admin) to the audit log (`auth.failure`).
    let recordFailure: (@Sendable (AuditRecord) -> Void)?

    /// - Parameter routes: the declared routes; a request's access is its route's, found by the router's endpoint
    ///   or, for a method the path does not serve (405, OPTIONS), by the path's template.
    public init(state: AccessControlState, routes: RouteTable, recordFailure: (@Sendable (AuditRecord) -> Void)? = nil) {
        self.state = state
        self.routes = routes
        self.recordFailure = recordFailure
    }

    /// An `auth.failure` audit record for a refused request on a route that needs more than the viewer role.
    private func audit(
        _ access: RouteAccess, _ request: Request, _ context: Context, endpoint: String?, principal: Principal?, client: String, outcome: String
    ) {
        guard let recordFailure, let role = access.role, role > .viewer, routes.serves(request.method, endpoint) else { return }
        recordFailure(
            AuditRecord(
                time: .now(), event: "auth.failure", principal: principal.flatMap { $0.method == .anonymous ? nil : $0.id },
                role: principal?.role.map { "\($0)" }, clientAddress: client, requestID: context.requestID,
                action: "\(request.method) \(APIErrorMiddleware<Context>.shortened(request.uri.path))", outcome: outcome))
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let control = state.current
        var request = request
        var context = context
        try await Self.checkLimits(&request, control.limits)

        // The address: the peer, or the client a trusted proxy forwarded for.
        let peer = IPAddressBits(context.remoteAddress)
        var client = peer
        if let peer, let proxies = control.trustedProxies {
            client = proxies.clientAddress(peer: peer, forwardedFor: request.headers[.xForwardedFor])
        }
        if let allowlist = control.allowlist {
            guard let client, allowlist.contains(client) else {
                context.logger.info("address not allowed", metadata: ["client.address": "\(client.map { "\($0)" } ?? "unknown")"])
                throw APIError(.forbidden, code: "address_not_allowed", message: "\(client.map { "\($0)" } ?? "this address") may not use this API")
            }
        }
        let addressID = client.map { "ip:\($0)" } ?? "ip:unknown"

        // The router's endpoint when a handler matched; else the template of the path (405, OPTIONS) or nil (404).
        let endpoint = context.endpointPath ?? routes.template(matching: request.uri.path)
        let access = routes.access(request.method, endpoint)
        var principal: Principal?
        if access != .public {
            do {
                principal = try await Self.authenticate(request, control)
            } catch {
                _ = limit(addressID, role: nil, control)
                context.logger.info("authentication failed", metadata: ["client.address": "\(addressID)", "reason": "\(error.message)"])
                audit(access, request, context, endpoint: endpoint, principal: nil, client: addressID, outcome: "401 \(error.message)")
                throw APIError(
                    .unauthorized, code: "unauthorized", message: error.message,
                    headers: [.wwwAuthenticate: "Bearer realm=\"viworks-agent\", error=\"invalid_token\", error_description=\"\(error.message)\""])
            }
        }
        let clientID = principal.flatMap { $0.method == .anonymous ? nil : $0.id } ?? addressID
        let decision = limit(clientID, role: principal?.role, control)
        if let decision, !decision.allowed {
            context.logger.info("rate limited", metadata: ["client": "\(clientID)"])
            var headers = Self.rateLimitHeaders(decision)
            headers[.retryAfter] = "\(decision.retryAfterSeconds)"
            throw APIError(
                .tooManyRequests, code: "rate_limited",
                message: "more than \(decision.limit) requests per minute; retry in \(decision.retryAfterSeconds) s", headers: headers)
        }
        if let required = access.role {
            // Anonymous requests that need more than the anonymous role are asked for credentials (401), not refused (403).
            guard let principal, principal.method != .anonymous || (principal.role.map { $0 >= required } ?? false) else {
                audit(access, request, context, endpoint: endpoint, principal: principal, client: addressID, outcome: "401 credentials required")
                throw APIError(
                    .unauthorized, code: "unauthorized", message: "credentials required: Authorization: Bearer <API key or JWT>, or X-API-Key",
                    headers: [.wwwAuthenticate: "Bearer realm=\"viworks-agent\""])
            }
            guard let role = principal.role, role >= required else {
                audit(access, request, context, endpoint: endpoint, principal: principal, client: addressID, outcome: "403 needs the \(required) role")
                context.logger.info("forbidden", metadata: ["client": "\(principal.id)", "role": "\(principal.role.map { "\($0)" } ?? "none")"])
                throw APIError(
                    .forbidden, code: "forbidden",
                    message: "\(request.method) \(APIErrorMiddleware<Context>.shortened(request.uri.path)) needs the \(required) role; this credential has \(principal.role.map { "\($0)" } ?? "no role")")
            }
            if required > .viewer, routes.serves(request.method, endpoint) {
                // Audit: who changed what, before it runs.
                context.logger.notice(
                    "privileged request", metadata: ["client": "\(principal.id)", "role": "\(role)", "http.method": "\(request.method)", "http.path": "\(request.uri.path)"])
            }
        }
        context.principal = principal
        if principal?.method == .apiKey, let key = Self.presentedKey(request) {
            // A response that outlives the request (the status stream) asks again now and then: a reload may have removed the key.
            context.credentialRevoked = { [state] in
                state.current.apiKeys.authenticate(key) == nil ? "the API key is no longer accepted (removed from the key file and reloaded)" : nil
            }
        }
        context.requester = Requester(
            name: principal.flatMap { $0.method == .anonymous ? nil : $0.id }, role: principal?.role.map { "\($0)" },
            clientAddress: client.map { "\($0)" }, requestID: context.requestID)
        var response = try await next(request, context)
        if let decision { response.headers.append(contentsOf: Self.rateLimitHeaders(decision)) }
        return response
    }

    private func limit(_ client: String, role: AccessRole?, _ control: AccessControl) -> RateLimiter.Decision? {
        guard let limiter = control.rateLimiter else { return nil }
        let perMinute = control.rateLimits.limit(for: role)
        guard perMinute > 0 else { return nil }
        return limiter.acquire(client: client, limit: perMinute)
    }

    static func rateLimitHeaders(_ decision: RateLimiter.Decision) -> HTTPFields {
        [
            .rateLimitLimit: "\(decision.limit)", .rateLimitRemaining: "\(decision.remaining)", .rateLimitReset: "\(decision.resetSeconds)",
            .rateLimitPolicy: "\(decision.limit);w=60",
        ]
    }

    // MARK: - Limits

    static func checkLimits(_ request: inout Request, _ limits: RequestLimitSettings) async throws {
        let target = request.head.path?.utf8.count ?? 0
        if target > limits.maxURLBytes {
            throw APIError(.uriTooLong, code: "uri_too_long", message: "the request target is \(target) bytes; at most \(limits.maxURLBytes) are accepted")
        }
        var headerBytes = 0
        for field in request.headers { headerBytes += field.name.rawName.utf8.count + field.value.utf8.count + 4 }
        if headerBytes > limits.maxHeaderBytes {
            throw APIError(
                .requestHeaderFieldsTooLarge, code: "headers_too_large",
                message: "the request headers are \(headerBytes) bytes; at most \(limits.maxHeaderBytes) are accepted")
        }
        if let length = request.headers[.contentLength] {
            guard let bytes = Int(length), bytes >= 0 else { throw APIError.badRequest("Content-Length is not a number") }
            if bytes > limits.maxBodyBytes { throw tooLarge(limits) }
        } else if request.headers[.transferEncoding] != nil {
            // A chunked body has no length up front: read it, at most the limit.
            do {
                request.body = RequestBody(buffer: try await request.body.collect(upTo: limits.maxBodyBytes))
            } catch is NIOTooManyBytesError {
                throw tooLarge(limits)
            }
        }
    }

    static func tooLarge(_ limits: RequestLimitSettings) -> APIError {
        APIError(.contentTooLarge, code: "payload_too_large", message: "the request body is larger than \(limits.maxBodyBytes) bytes")
    }

    // MARK: - Credentials

    struct Failure: Error {
        var message: String
    }

    /// The API key the request presents (as a bearer token or in `X-API-Key`); nil for none or another credential.
    static func presentedKey(_ request: Request) -> Substring? {
        let credential: Substring
        if let authorization = request.headers[.authorization], authorization.utf8.count > 7, authorization.prefix(7).lowercased() == "bearer " {
            credential = authorization.dropFirst(7).drop { $0 == " " }
        } else if let key = request.headers[.xAPIKey] {
            credential = Substring(key)
        } else {
            return nil
        }
        return credential.hasPrefix("vwk_") ? credential : nil
    }

    /// The principal of the request's credential; the anonymous principal (or nil) without one.
    static func authenticate(_ request: Request, _ control: AccessControl) async throws(Failure) -> Principal? {
        let credential: Substring
        if let authorization = request.headers[.authorization] {
            guard authorization.utf8.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
                throw Failure(message: "unsupported Authorization scheme; use Bearer")
            }
            credential = authorization.dropFirst(7).drop { $0 == " " }
        } else if let key = request.headers[.xAPIKey] {
            credential = Substring(key)
        } else {
            return control.anonymousRole.map { Principal(id: "anonymous", role: $0, method: .anonymous) }
        }
        if credential.hasPrefix("vwk_") {
            guard let (name, role) = control.apiKeys.authenticate(credential) else { throw Failure(message: "unknown API key") }
            return Principal(id: "key:\(name)", role: role, method: .apiKey)
        }
        guard let jwt = control.jwt, credential.contains(".") else { throw Failure(message: "unknown API key") }
        do {
            let claims = try await jwt.verify(credential)
            return Principal(id: "jwt:\(claims.subject)", role: claims.role, method: .jwt, expiresAt: claims.expiresAt)
        } catch {
            throw Failure(message: error.message)
        }
    }
}
