//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import Hummingbird

/// `GET /api/v1/plugins`, `GET /api/v1/plugins/{name}`, `POST /api/v1/plugins/{name}/enable`, `POST /api/v1/plugins/reload`.
/// Not cached: the figures move with every line a plugin writes.
public struct PluginsController: Sendable {
    let registry: (any PluginRegistryView)?

    public init(registry: (any PluginRegistryView)?) {
        self.registry = registry
    }

    /// The routes this controller declares; ``APIServer`` registers them.
    public var routes: [Route] {
        [
            Route(.get, "/api/v1/plugins", .viewer, "Every plugin of plugins.d: state, restarts, bad lines by reason, samples; manifests that did not load") { request, _ in
                _ = try QueryParameters(request, allowed: [])
                return try json(PluginsDTO(plugins: registry?.plugins() ?? [], problems: registry?.manifestProblems() ?? []))
            },
            Route(.get, "/api/v1/plugins/{name}", .viewer, "One plugin in detail") { request, context in
                let name = try context.pathParameter("name")
                _ = try QueryParameters(request, allowed: [])
                guard let state = registry?.plugins().first(where: { $0.name == name }) else {
                    throw APIError.notFound("no plugin named \(QueryParameters.shortened(name))")
                }
                return try json(PluginDTO(state: state))
            },
            Route(.post, "/api/v1/plugins/{name}/enable", .operator, "Start a disabled plugin again (after a crash loop, a refusal or its own request)") { request, context in
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
            },
            Route(.post, "/api/v1/plugins/reload", .operator, "Rescan plugins.d: start added plugins, stop removed ones, restart changed ones") { request, _ in
                _ = try QueryParameters(request, allowed: [])
                guard let registry else { return try json(PluginReloadDTO(result: PluginReloadResult())) }
                return try json(PluginReloadDTO(result: await registry.reload()))
            },
        ]
    }

    private func json(_ value: some Encodable) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: try encode(value)))
    }
}
