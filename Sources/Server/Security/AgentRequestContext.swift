//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Hummingbird
public import NIOCore

/// The request context of the API: Hummingbird's core storage plus the peer address and the authenticated principal.
public struct AgentRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer; nil in router tests (no socket).
    public var remoteAddress: SocketAddress?
    /// Set by ``AccessMiddleware`` once the request is authenticated.
    public var principal: Principal?
    /// Who the request comes from, as the audit log records it (credential, role, client address, request id);
    /// set by ``AccessMiddleware`` with ``principal``.
    public var requester: Requester?
    /// Set by ``AccessMiddleware`` for an API key: nil while the key is still accepted, else why it no longer is (a
    /// reload removed it). Responses that outlive their request (the status stream) ask it now and then.
    public var credentialRevoked: (@Sendable () -> String?)?
    /// The `X-Request-Id` of this request.
    public var requestID: String = ""

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The configured body limit also bounds what a handler may decode.
    public var maxUploadSize: Int { 64 * 1024 }
}
