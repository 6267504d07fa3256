//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Hummingbird

/// `GET /api/v1/plugins`, `GET /api/v1/plugins/{name}`, `POST /api/v1/plugins/{name}/enable`, `POST /api/v1/plugins/reload`.
/// Not cached: the figures move with every line a plugin writes.
public struct PluginsController: Sendable {
    let registry: (any PluginRegistryView)?

    public init(registry: (any PluginRegistryView)?) {
        self.registry = registry
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.get("/api/v1/plugins") { request, _ in
            _ = try QueryParameters(request, allowed: [])
            return try json(PluginsDTO(plugins: registry?.plugins() ?? [], problems: registry?.manifestProblems() ?? []))
        }
        router.get("/api/v1/plugins/{name}") { request, context in
            let name = try context.pathParameter("name")
            _ = try QueryParameters(request, allowed: [])
            guard let state = registry?.plugins().first(where: { $0.name == name }) else {
                throw APIError.notFound("no plugin named \(QueryParameters.shortened(name))")
            }
            return try json(PluginDTO(state: state))
        }
        router.post("/api/v1/plugins/{name}/enable") { request, context in
            let name = try context.pathParameter("name")
            _ = try QueryParameters(request, allowed: [])
            guard let registry else { throw APIError.notFound("no plugin named \(QueryParameters.shortened(name))") }
            let state: PluginState
            do throws(PluginCommandError) {
                state = try await registry.enable(name)
            } catch {
                switch error {
                case .notFound: throw APIError.notFound("no plugin named \(QueryParameters.shortened(name))")
                case .alreadyRunning(_, let status):
                    throw APIError(.conflict, code: "already_running", message: "plugin \(name) is \(status), not disabled: there is nothing to enable")
                case .disabledInManifest(_, let manifest):
                    throw APIError(
                        .conflict, code: "disabled_in_manifest",
                        message: "plugin \(name) is disabled by enabled = false in \(manifest); set enabled = true there and reload")
                }
            }
            return try json(PluginDTO(state: state))
        }
        router.post("/api/v1/plugins/reload") { request, _ in
            _ = try QueryParameters(request, allowed: [])
            guard let registry else { return try json(PluginReloadDTO(result: PluginReloadResult())) }
            return try json(PluginReloadDTO(result: await registry.reload()))
        }
    }

    private func json(_ value: some Encodable) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: try encode(value)))
    }
}
