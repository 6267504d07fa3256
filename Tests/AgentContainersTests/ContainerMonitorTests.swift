//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import AgentRuntime
import Logging
import Testing

/// The container monitor (status `containers`/`engine`, `/metrics` `viworks_container_*`) against the suite's dockerd.
extension RealEngineTests {
    /// The samples of `name`, by their `id` label (nil for series without one).
    static func samples(_ view: ContainersView, _ name: String) -> [String?: Double] {
        var values: [String?: Double] = [:]
        for sample in ContainerMetrics.samples(view) where sample.name == name {
            values[sample.labels.first { $0.name == "id" }?.value] = sample.value
        }
        return values
    }

    @Test func monitorCollectsManagedContainersAndDropsRemovedOnes() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "monitor", firstPort: 23760)
        defer { Task { await fixture.finish() } }
        let manager = fixture.manager
        let monitor = ContainerMonitor(manager: manager, showAll: false, interval: .seconds(3600), logger: Logger(label: "test.monitor"))
        #expect(monitor.view.engine.status == .unavailable && monitor.view.engine.reason == "not connected yet")

        await monitor.refresh()
        var view = monitor.view
        #expect(view.engine.status == .available)
        #expect(view.engine.apiVersion == "1.41")
        #expect(view.engine.version?.isEmpty == false)
        #expect(view.containers.isEmpty)
        #expect(view.sessions == [.creating: 0, .running: 0, .stopped: 0, .exited: 0, .oomKilled: 0])
        #expect(Self.samples(view, MetricName.containerEngineUp) == [nil: 1])
        #expect(Self.samples(view, MetricName.containerUp).isEmpty)
        let empty = monitor.generation

        let session = try await manager.create(SessionRequest(username: "mona", template: "web"))
        let containerID = try #require(session.containerID)
        // A container of another agent (no label of this one) is not listed without show_all.
        let bare = try await Self.createBare(fixture.engine, labels: [:], hostPort: 23799)
        await monitor.refresh()
        view = monitor.view
        #expect(monitor.generation != empty)
        #expect(view.containers.map(\.id) == [containerID])
        let report = try #require(view.containers.first)
        #expect(report.sessionID == session.sessionID && report.username == "mona" && report.port == session.port)
        #expect(report.state == "running")
        #expect(report.cpuPercent == nil)  // the first sample of the container
        #expect(report.memoryLimitBytes == 64 << 20 && report.cpuShares == 256)
        #expect(view.sessions?[.running] == 1)
        #expect(Self.samples(view, MetricName.containerUp) == [containerID: 1])
        #expect(Self.samples(view, MetricName.containerOomKilled) == [containerID: 0])
        #expect(Self.samples(view, MetricName.containerMemoryLimitBytes) == [containerID: Double(64 << 20)])
        #expect(Self.samples(view, MetricName.containerCpuPercent).isEmpty)
        let memory = try #require(Self.samples(view, MetricName.containerMemoryBytes)[containerID])
        #expect(memory > 0 && memory < Double(64 << 20))
        let labels = try #require(ContainerMetrics.samples(view).first { $0.name == MetricName.containerUp }?.labels)
        #expect(labels.map(\.name) == ["id", "name", "session_id", "username"])
        #expect(labels.map(\.value) == [containerID, report.name, session.sessionID, "mona"])
        let sessions = ContainerMetrics.samples(view).filter { $0.name == MetricName.containerSessions }
        #expect(sessions.map { "\($0.labels.map(\.value)) \($0.value)" } == ["[\"creating\"] 0.0", "[\"running\"] 1.0", "[\"stopped\"] 0.0", "[\"exited\"] 0.0", "[\"oom_killed\"] 0.0"])

        // The second collection has a previous CPU sample: a percentage, capped at half a CPU by the template.
        await monitor.refresh()
        let percent = try #require(monitor.view.containers.first?.cpuPercent)
        #expect(percent >= 0 && percent <= 50.5)
        #expect(Self.samples(monitor.view, MetricName.containerCpuPercent)[containerID] == percent)

        // show_all lists the other container too, without session labels.
        let all = ContainerMonitor(manager: manager, showAll: true, interval: .seconds(3600), logger: Logger(label: "test.monitor"))
        await all.refresh()
        #expect(Set(all.view.containers.map(\.id)) == [containerID, bare])
        let foreign = try #require(all.view.containers.first { $0.id == bare })
        #expect(foreign.sessionID == nil && foreign.username == nil && foreign.port == nil)
        try await fixture.engine.removeContainer(bare, force: true)

        // A removed session's container and its series are gone from the next collection.
        _ = try await manager.delete(session.sessionID)
        await monitor.refresh()
        view = monitor.view
        #expect(view.containers.isEmpty)
        #expect(view.sessions?[.running] == 0)
        #expect(ContainerMetrics.samples(view).allSatisfy { $0.labels.allSatisfy { $0.name != "id" } })
    }

    @Test func monitorFollowsTheEngineDownAndBack() async throws {
        guard let docker = TestDocker.current else { return }
        let fixture = try await Self.fixture(docker, name: "monitor-down", firstPort: 23800, connect: false)
        defer { Task { await fixture.finish() } }
        let running = try await Self.following(fixture)
        defer { running.cancel() }
        // Collections are an hour apart: only a change of the engine's condition or of the sessions brings a new one.
        let monitor = ContainerMonitor(
            manager: fixture.manager, showAll: false, interval: .seconds(3600), checkEvery: .milliseconds(50), logger: Logger(label: "test.monitor"))
        let watching = Task { await monitor.run() }
        defer { watching.cancel() }
        let available = await Self.eventually(within: .seconds(10)) { monitor.view.engine.status == .available }
        #expect(available != nil, "view: \(monitor.view.engine)")
        let session = try await fixture.manager.create(SessionRequest(username: "otto", template: "web"))
        let listed = await Self.eventually(within: .seconds(10)) { monitor.view.containers.map { Optional($0.id) } == [session.containerID] }
        #expect(listed != nil)

        await docker.stopDaemon()
        let noticed = await Self.eventually(within: .seconds(10)) { monitor.view.engine.status == .unavailable }
        let down = monitor.view
        #expect(noticed != nil, "view: \(down.engine)")
        #expect(down.engine.reason?.hasPrefix("ENOENT") == true || down.engine.reason?.hasPrefix("ECONNREFUSED") == true, "\(down.engine)")
        #expect(down.containers.isEmpty)
        #expect(Self.samples(down, MetricName.containerEngineUp) == [nil: 0])

        try await docker.startDaemon()
        let back = await Self.eventually(within: .seconds(20)) { monitor.view.engine.status == .available }
        #expect(back != nil, "view: \(monitor.view.engine)")
        #expect(monitor.view.engine.reason == nil)
        #expect(Self.samples(monitor.view, MetricName.containerEngineUp) == [nil: 1])
        // The daemon stopped the container as it shut down: it is listed again, exited.
        let exited = await Self.eventually(within: .seconds(10)) { monitor.view.containers.first?.state == "exited" }
        #expect(exited != nil, "containers: \(monitor.view.containers.map(\.state))")
    }
}

/// Monitors built without a session manager.
struct ContainerMonitorStateTests {
    @Test func monitorsWithoutAManagerReportWhy() {
        let disabled = ContainerMonitor(disabled: "[containers] enabled = false")
        #expect(disabled.view.engine == ContainerEngineStatus(status: .disabled, reason: "[containers] enabled = false"))
        #expect(disabled.view.sessions == nil)
        #expect(ContainerMetrics.samples(disabled.view).isEmpty)
        let unavailable = ContainerMonitor(unavailable: "the session store is unavailable: cannot open /x")
        #expect(unavailable.view.engine.status == .unavailable)
        #expect(ContainerMetrics.samples(unavailable.view).map(\.name) == [MetricName.containerEngineUp])
    }
}
