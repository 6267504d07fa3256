//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Hummingbird
import HummingbirdCore
public import Logging
public import NIOCore

/// Builds the agent's HTTP application.
public enum APIServer {
    /// Every route of the API, as the controllers declare them. The list does not depend on what is wired:
    /// a route whose part of the agent is missing answers 503 or 404 itself.
    public static func routes(dependencies: APIDependencies) -> [Route] {
        StatusController(dependencies: dependencies).routes
            + OperationsController(operations: dependencies.operations, journal: dependencies.journal, logUnits: dependencies.logUnits).routes
            + PluginsController(registry: dependencies.plugins).routes
            + HistoryController(context: dependencies.history, alerts: dependencies.alerts).routes
            + AlertsController(alerts: dependencies.alerts, thresholds: dependencies.headlineThresholds).routes
            + SessionsController(sessions: dependencies.sessions, operations: dependencies.operations).routes
            + StreamController(hub: dependencies.liveStatus).routes
            + OpenAPIController().routes
            + DashboardController(settings: dependencies.dashboard).routes
    }

    /// The router with every route of ``routes(dependencies:)``, JSON errors, and for a path it serves asked with
    /// another method, 405 with `Allow` (204 with `Allow` for `OPTIONS`, ``MethodNotAllowedMiddleware``).
    /// - Parameter access: credentials, roles, allowlist, rate and size limits (``AccessMiddleware``); unrestricted by default,
    ///   the agent always passes the configured one.
    public static func buildRouter(
        dependencies: APIDependencies, access: AccessControlState = AccessControlState(.unrestricted)
    ) -> Router<AgentRequestContext> {
        let routes = Self.routes(dependencies: dependencies)
        let table = RouteTable(routes.map(\.description))
        let router = Router(context: AgentRequestContext.self, options: [.autoGenerateHeadEndpoints])
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: APIErrorMiddleware())
        var recordFailure: (@Sendable (AuditRecord) -> Void)?
        if let operations = dependencies.operations {
            recordFailure = { record in _ = try? operations.record(record) }
        }
        router.add(middleware: AccessMiddleware(state: access, routes: table, recordFailure: recordFailure))
        router.add(middleware: MethodNotAllowedMiddleware(routes: table))
        for route in routes {
            router.on(RouterPath(route.description.path), method: route.description.method, use: route.handler)
        }
        return router
    }

    /// The application listening on `settings`' address, on the given event loops.
    /// - Parameters:
    ///   - onServerRunning: called once the socket listens (the systemd readiness gate waits for it).
    ///   - access: the access control (``AccessMiddleware``).
    ///   - tls: the TLS context when `[tls]` is configured; nil serves plain HTTP.
    ///   - requestTimeout: once a client starts sending, the time it has to get an answer (slow clients).
    public static func buildApplication(
        dependencies: APIDependencies, settings: ServerSettings, eventLoopGroup: any EventLoopGroup, logger: Logger,
        access: AccessControlState = AccessControlState(.unrestricted), tls: TLSContextProvider? = nil, requestTimeout: Duration? = nil,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let timeout = requestTimeout.map { TimeAmount.nanoseconds(Int64($0.components.seconds) * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000) }
        return Application(
            router: buildRouter(dependencies: dependencies, access: access),
            // Connections idle for 30 s (including half-open ones that stopped sending) are closed.
            server: HTTPServerBuilder { responder in
                // With a request timeout, RequestEndHandler (after HTTP decoding) tells when each request is complete.
                // ContinueHandler answers `Expect: 100-continue`.
                let http = HTTP1Channel.Configuration(
                    additionalChannelHandlers: (timeout == nil ? [] : [RequestEndHandler()]) + [ContinueHandler()], idleTimeout: .seconds(30))
                return AgentChildChannel(HTTP1Channel(responder: responder, configuration: http), tls: tls, requestTimeout: timeout)
            },
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: "viworks-agent"),
            onServerRunning: onServerRunning,
            eventLoopGroupProvider: .shared(eventLoopGroup),
            logger: logger
        )
    }
}

/// The JSON documents of the API, for the `collect` command.
public enum APIDocuments {
    /// `{"timestamp", "system_health", "system_info"}` for one snapshot, as one line of JSON.
    public static func collectDocument(_ snapshot: AgentSnapshot) throws -> [UInt8] {
        var buffer = try encode(CollectDTO(snapshot: snapshot))
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}

struct CollectDTO: Encodable {
    var snapshot: AgentSnapshot

    enum Keys: String, CodingKey { case timestamp, system_health, system_info }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.timestamp, (snapshot.updatedAt ?? .now()).rfc3339)
        try o(.system_health, SystemHealthDTO(snapshot: snapshot))
        try o(.system_info, SystemInfoDTO(snapshot: snapshot))
    }
}
