//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import AgentRuntime
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentServer

/// The `engine` and `containers` sections of status and the engine's series in `/metrics`, when the engine is not
/// there (the real engine's view is tested in the container tests and end to end).
struct ContainersStatusTests {
    func body(_ monitor: ContainerMonitor?) async throws -> (status: [String: Any], metrics: String) {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(cpu50))
        var dependencies = agent.dependencies
        dependencies.containers = monitor
        let application = Application(router: APIServer.buildRouter(dependencies: dependencies))
        return try await application.test(.router) { client in
            let status = try json(try await client.execute(uri: "/api/v1/status", method: .get).body)
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            return (status, metrics)
        }
    }

    @Test func disabledEngineIsReportedWithTheReason() async throws {
        let (status, metrics) = try await body(ContainerMonitor(disabled: "[containers] enabled = false"))
        #expect((status["containers"] as? [Any])?.isEmpty == true)
        let engine = try #require(status["engine"] as? [String: Any])
        #expect(engine["status"] as? String == "disabled")
        #expect(engine["reason"] as? String == "[containers] enabled = false")
        #expect(engine["version"] is NSNull && engine["api_version"] is NSNull)
        #expect(!metrics.contains("viworks_container_"))
    }

    @Test func unavailableEngineIsAStateWithTheReason() async throws {
        let (status, metrics) = try await body(ContainerMonitor(unavailable: "the session store is unavailable: cannot open /x"))
        let engine = try #require(status["engine"] as? [String: Any])
        #expect(engine["status"] as? String == "unavailable")
        #expect(engine["reason"] as? String == "the session store is unavailable: cannot open /x")
        #expect(metrics.split(separator: "\n").contains("viworks_container_engine_up 0.0"))
    }

    @Test func withoutAMonitorTheEngineIsDisabled() async throws {
        let (status, _) = try await body(nil)
        let engine = try #require(status["engine"] as? [String: Any])
        #expect(engine["status"] as? String == "disabled")
        #expect(engine["reason"] as? String == "containers are not wired")
    }
}
