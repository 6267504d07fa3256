//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Hummingbird
public import Logging
public import NIOCore

/// Builds the agent's HTTP application.
public enum APIServer {
    /// The router with every route of ``RouteTable``, JSON errors, 405 with `Allow` for a known path asked
    /// with a method it does not serve, and 204 with `Allow` for `OPTIONS` on a known path.
    public static func buildRouter(dependencies: APIDependencies) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self, options: [.autoGenerateHeadEndpoints])
        router.add(middleware: APIErrorMiddleware())
        StatusController(dependencies: dependencies).addRoutes(to: router)
        PluginsController(registry: dependencies.plugins).addRoutes(to: router)
        OpenAPIController().addRoutes(to: router)
        HistoryController(context: dependencies.history, alerts: dependencies.alerts).addRoutes(to: router)
        AlertsController(alerts: dependencies.alerts).addRoutes(to: router)
        OperationsController(operations: dependencies.operations, journal: dependencies.journal, logUnits: dependencies.logUnits).addRoutes(to: router)
        var byPath: [String: [HTTPRequest.Method]] = [:]
        for route in RouteTable.routes { byPath[route.path, default: []].append(route.method) }
        for (path, methods) in byPath {
            let allowed = (methods + (methods.contains(.get) ? [.head] : []) + [.options]).map(\.rawValue).joined(separator: ", ")
            router.on(RouterPath(path), method: .options) { _, _ -> Response in
                Response(status: .noContent, headers: [.allow: allowed])
            }
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] where !methods.contains(method) {
                router.on(RouterPath(path), method: method) { request, _ -> Response in
                    throw APIError(
                        .methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(path); allowed: \(allowed)",
                        headers: [.allow: allowed])
                }
            }
        }
        return router
    }

    /// The application listening on `settings`' address, on the given event loops.
    /// - Parameters:
    ///   - onServerRunning: called once the socket listens (the systemd readiness gate waits for it).
    public static func buildApplication(
        dependencies: APIDependencies, settings: ServerSettings, eventLoopGroup: any EventLoopGroup, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: buildRouter(dependencies: dependencies),
            // Connections idle for 30 s (including half-open ones that stopped sending) are closed.
            server: .http1(configuration: .init(idleTimeout: .seconds(30))),
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
