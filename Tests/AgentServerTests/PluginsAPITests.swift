//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import AgentServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// A registry with fixed plugins, standing in for AgentPlugins' (the server never imports it).
final class FakePluginRegistry: PluginRegistryView {
    let states = Mutex<[PluginState]>([])
    let reloads = Mutex(0)

    init() {
        var running = PluginState(name: "nginx", status: "running", manifest: "/etc/viworks-agent/plugins.d/nginx.toml", command: ["./nginx.py"], mode: "poll", intervalSeconds: 30, timeoutSeconds: 10)
        running.badLines = ["invalid_json": 3, "line_too_long": 1]
        running.samples = 120
        running.lastSampleAt = Timestamp(nanosecondsSinceEpoch: 1_756_890_415_757_303_636)
        running.services = [PluginServiceState(name: "nginx", state: "active", message: nil, reportedAt: Timestamp(nanosecondsSinceEpoch: 1_756_890_415_000_000_000))]
        var failed = PluginState(name: "broken", status: "disabled", manifest: "/etc/viworks-agent/plugins.d/broken.toml", command: ["./broken.sh"], mode: "stream", intervalSeconds: 5, timeoutSeconds: 5)
        failed.disabledReason = "crash loop: 6 failures in a row; last: exited with status 1 before producing a valid line after 3ms"
        failed.restarts = 5
        states.withLock { $0 = [failed, running] }
    }

    func plugins() -> [PluginState] { states.withLock { $0 } }

    /// Derived from the states, as a registry without its own counters would.
    func generation() -> UInt64 {
        var hasher = Hasher()
        for state in plugins() {
            hasher.combine(state.name)
            hasher.combine(state.status)
            hasher.combine(state.disabledReason)
        }
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    func manifestProblems() -> [PluginManifestProblem] {
        [PluginManifestProblem(file: "/etc/viworks-agent/plugins.d/bad.toml", line: 3, key: "mode", message: "expected one of poll, stream, got \"pull\"")]
    }

    func enable(_ name: String) async throws(PluginCommandError) -> PluginState {
        let found: PluginState? = states.withLock { states in
            guard let index = states.firstIndex(where: { $0.name == name }) else { return nil }
            states[index].status = "starting"
            states[index].disabledReason = nil
            return states[index]
        }
        guard let found else { throw PluginCommandError.notFound(name) }
        return found
    }

    func reload() async -> PluginReloadResult {
        reloads.withLock { $0 += 1 }
        var result = PluginReloadResult()
        result.added = ["new"]
        result.unchanged = ["nginx"]
        return result
    }
}

@Suite("Plugin routes")
struct PluginsAPITests {
    private func application(_ registry: FakePluginRegistry) -> some ApplicationProtocol {
        let agent = FakeAgent(required: [])
        var dependencies = agent.dependencies
        dependencies.plugins = registry
        return Application(router: APIServer.buildRouter(dependencies: dependencies))
    }

    @Test func listDetailEnableReload() async throws {
        let registry = FakePluginRegistry()
        try await application(registry).test(.router) { client in
            let list = try await client.execute(uri: "/api/v1/plugins", method: .get)
            #expect(list.status == .ok)
            #expect(list.headers[.cacheControl] == "no-store")
            let body = try json(list.body)
            let plugins = try #require(body["plugins"] as? [[String: Any]])
            #expect(plugins.map { $0["name"] as? String } == ["broken", "nginx"])
            #expect((plugins[1]["bad_lines"] as? [String: Int]) == ["invalid_json": 3, "line_too_long": 1])
            let errors = try #require(body["manifest_errors"] as? [[String: Any]])
            #expect(errors.first?["line"] as? Int == 3)

            let detail = try json(try await client.execute(uri: "/api/v1/plugins/broken", method: .get).body)
            #expect(detail["status"] as? String == "disabled")
            #expect((detail["disabled_reason"] as? String)?.hasPrefix("crash loop") == true)
            #expect(try await client.execute(uri: "/api/v1/plugins/nope", method: .get).status == .notFound)

            let enabled = try await client.execute(uri: "/api/v1/plugins/broken/enable", method: .post)
            #expect(enabled.status == .ok)
            #expect(try json(enabled.body)["status"] as? String == "starting")
            #expect(try await client.execute(uri: "/api/v1/plugins/nope/enable", method: .post).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/plugins/broken/enable", method: .get).status == .methodNotAllowed)

            let reload = try await client.execute(uri: "/api/v1/plugins/reload", method: .post)
            #expect(reload.status == .ok)
            #expect(try json(reload.body)["added"] as? [String] == ["new"])
            #expect(registry.reloads.withLock { $0 } == 1)
        }
    }

    @Test func statusHasAPluginsSectionAndMetricsHaveHealthCounters() async throws {
        let registry = FakePluginRegistry()
        try await application(registry).test(.router) { client in
            let status = try json(try await client.execute(uri: "/api/v1/status", method: .get).body)
            let plugins = try #require(status["plugins"] as? [[String: Any]])
            #expect(plugins.count == 2)
            #expect(plugins[1]["bad_lines"] as? Int == 4)
            #expect(plugins[1]["samples"] as? Int == 120)

            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"viworks_plugin_up{plugin="nginx"} 1"#))
            #expect(metrics.contains(#"viworks_plugin_disabled{plugin="broken"} 1"#))
            #expect(metrics.contains(#"viworks_plugin_bad_lines_total{plugin="nginx",reason="invalid_json"} 3"#) || metrics.contains(#"viworks_plugin_bad_lines_total{reason="invalid_json",plugin="nginx"} 3"#))
            #expect(metrics.contains("viworks_plugin_service_up{"))
        }
    }
}
