//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentPlugins
import AgentRuntime
import Testing

@Suite("PluginRegistry (real processes)", .timeLimit(.minutes(1)))
struct PluginRegistryTests {
    @Test func crashLoopBacksOffThenDisablesUntilEnabled() async throws {
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        directory.write("exit", manifestText(name: "exit", script: "exit_now.sh"))
        let registry = PluginRegistry(directory: directory.path, defaults: PluginDefaults(), bus: MetricsBus(), logger: quietLogger)
        try await withRunning(registry) {
            let disabled = await eventually { registry.plugin(named: "exit")?.status == "disabled" }
            #expect(disabled)
            let state = try #require(registry.plugin(named: "exit"))
            #expect(state.restarts == 3)
            #expect(state.disabledReason?.hasPrefix("crash loop: 4 failures in a row; last: exited with status 3 before producing a valid line") == true)
            #expect(state.lastExit?.contains("last stderr: cannot connect to the database") == true)

            // Enabling starts it again with a fresh supervisor; it crash-loops again.
            let enabled = try await registry.enable("exit")
            #expect(enabled.status != "disabled")
            let again = await eventually { registry.plugin(named: "exit")?.status == "disabled" }
            #expect(again)
        }
        await #expect(throws: PluginCommandError.notFound("nope")) { try await registry.enable("nope") }
    }

    @Test func backoffIntervalsGrow() async throws {
        let manifest = try loadManifest(manifestText(name: "exit", script: "exit_now.sh"))
        let host = PluginHost(manifest: manifest, bus: MetricsBus(), logger: quietLogger)
        let supervisor = Supervisor(children: [host.supervisedChild()], clock: ContinuousClock(), logger: quietLogger)
        // The delay the supervisor chose before each restart, read while the plugin waits (restarts -> seconds).
        var delays: [Int: Double] = [:]
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await supervisor.run() }
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while ContinuousClock.now < deadline {
                guard let state = supervisor.states.first else { break }
                if state.status == .failed { break }
                if state.status == .restarting, let next = state.nextRestartAt, let failed = state.lastErrorAt {
                    delays[state.restarts] = next.secondsSinceEpoch - failed.secondsSinceEpoch
                }
                try await Task.sleep(for: .milliseconds(2))
            }
            group.cancelAll()
        }
        #expect(supervisor.states.first?.status == .failed)
        // Backoff 50 ms, 100 ms, 200 ms (restart policy of manifestText), each jittered into [half, all]. The 2 ms poll
        // can miss a 25 ms window on a loaded machine: every delay seen must be right, and most must be seen (the
        // sequence itself is tested on a manual clock in SupervisorTests).
        #expect(Set(delays.keys).isSubset(of: [1, 2, 3]) && delays.count >= 2, "restarts seen: \(delays.keys.sorted())")
        let bounds: [Int: ClosedRange<Double>] = [1: 0.024...0.051, 2: 0.049...0.101, 3: 0.099...0.201]
        for (restart, delay) in delays {
            #expect(bounds[restart]?.contains(delay) == true, "restart \(restart): \(delay) s")
        }
        if let first = delays[1], let last = delays[3] { #expect(last > first) }
    }

    @Test func tenPluginsOneMisbehavingTheOthersKeepTheirCadence() async throws {
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        for index in 0..<9 { directory.write("good\(index)", manifestText(name: "good\(index)", script: "poll.sh", interval: "200ms")) }
        directory.write("bad", manifestText(name: "bad", script: "ignore_term.sh", interval: "200ms", timeout: "200ms"))
        let bus = MetricsBus()
        let registry = PluginRegistry(directory: directory.path, defaults: PluginDefaults(), bus: bus, logger: quietLogger)
        try await withRunning(registry) {
            // 2.5 s at 200 ms is about 12 collections; on a loaded 2-core machine wait (up to 10 s) for 8 of each.
            _ = await eventually(timeout: .seconds(10)) {
                registry.plugins().filter { $0.name.hasPrefix("good") }.allSatisfy { $0.collections >= 8 }
            }
            let states = registry.plugins()
            #expect(states.count == 10)
            for state in states where state.name.hasPrefix("good") {
                // 2.5 s at 200 ms: about 12 collections; allow for start-up and a loaded 2-core machine (the
                // flood test may run at the same time).
                #expect(state.collections >= 8, "\(state.name): \(state.collections) collections")
                #expect(state.timeouts == 0)
                #expect(state.status == "running")
            }
            // The bad plugin ignores SIGTERM: its restart waits for the grace period and SIGKILL, which on a loaded
            // machine may come after the 2.5 s above; wait for it rather than sample it.
            let restarted = await eventually(timeout: .seconds(15)) { (registry.plugins().first { $0.name == "bad" }?.restarts ?? 0) >= 1 }
            #expect(restarted, "the plugin that misses its deadline and ignores SIGTERM is restarted")
        }
    }

    @Test func reloadStartsAddedStopsRemovedRestartsChangedAndLeavesTheRestAlone() async throws {
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        directory.write("keep", manifestText(name: "keep", script: "poll.sh"))
        directory.write("change", manifestText(name: "change", script: "poll.sh"))
        directory.write("drop", manifestText(name: "drop", script: "poll.sh"))
        let registry = PluginRegistry(directory: directory.path, defaults: PluginDefaults(), bus: MetricsBus(), logger: quietLogger)
        try await withRunning(registry) {
            let running = await eventually { registry.plugins().allSatisfy { $0.status == "running" && $0.processID != nil } }
            #expect(running)
            let keepPID = registry.plugin(named: "keep")?.processID
            let changePID = registry.plugin(named: "change")?.processID
            directory.delete("drop")
            directory.write("change", manifestText(name: "change", script: "poll.sh", interval: "300ms"))
            directory.write("add", manifestText(name: "add", script: "stream.sh", mode: "stream", interval: "100ms"))
            directory.write("broken", "name = \"broken\"\ncommand = \"./run.sh --flag\"\n")
            let result = await registry.reload()
            #expect(result.added == ["add"])
            #expect(result.removed == ["drop"])
            #expect(result.changed == ["change"])
            #expect(result.unchanged == ["keep"])
            #expect(result.problems.map(\.key) == ["command"])
            #expect(result.problems.first?.line == 2)
            let settled = await eventually {
                let states = registry.plugins()
                return states.map(\.name) == ["add", "change", "keep"] && states.allSatisfy { $0.status == "running" && $0.processID != nil }
                    && registry.plugin(named: "change")?.processID != changePID
            }
            #expect(settled, "\(registry.plugins().map { "\($0.name) \($0.status) pid \($0.processID.map(String.init) ?? "-") \($0.lastExit ?? "")" })")
            #expect(registry.plugin(named: "keep")?.processID == keepPID)
            #expect(registry.plugin(named: "change")?.intervalSeconds == 0.3)
            #expect(registry.manifestProblems().count == 1)
        }
    }

    @Test func disabledInTheManifestIsShownWithTheReason() async throws {
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        directory.write("off", manifestText(name: "off", script: "poll.sh", extra: "enabled = false"))
        let registry = PluginRegistry(directory: directory.path, defaults: PluginDefaults(), bus: MetricsBus(), logger: quietLogger)
        let state = try #require(registry.plugin(named: "off"))
        #expect(state.status == "disabled")
        #expect(state.disabledReason == "enabled = false in \(directory.path)/off.toml")
    }

    @Test func enableRefusesARunningPluginAndOneItsManifestDisables() async throws {
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        directory.write("off", manifestText(name: "off", script: "poll.sh", extra: "enabled = false"))
        directory.write("on", manifestText(name: "on", script: "poll.sh"))
        let registry = PluginRegistry(directory: directory.path, defaults: PluginDefaults(), bus: MetricsBus(), logger: quietLogger)
        try await withRunning(registry) {
            let running = await eventually { registry.plugin(named: "on")?.status == "running" && registry.plugin(named: "on")?.processID != nil }
            #expect(running)
            let pid = registry.plugin(named: "on")?.processID
            // Enabling a running plugin used to restart it; now it is refused and the process is left alone.
            await #expect(throws: PluginCommandError.alreadyRunning(name: "on", status: "running")) { try await registry.enable("on") }
            try await Task.sleep(for: .milliseconds(300))
            #expect(registry.plugin(named: "on")?.processID == pid)
            #expect(registry.plugin(named: "on")?.restarts == 0)
            // Enabling a plugin that its manifest disables used to start it behind the manifest's back.
            await #expect(throws: PluginCommandError.disabledInManifest(name: "off", manifest: "\(directory.path)/off.toml")) {
                try await registry.enable("off")
            }
            #expect(registry.plugin(named: "off")?.status == "disabled")
            #expect(registry.plugin(named: "off")?.processID == nil)
        }
    }

    @Test func aRefusedProtocolIsReportedAsTheRefusalNotAsACrashLoop() async throws {
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        directory.write("v2", manifestText(name: "v2", script: "protocol2.sh"))
        let registry = PluginRegistry(directory: directory.path, defaults: PluginDefaults(), bus: MetricsBus(), logger: quietLogger)
        try await withRunning(registry) {
            let disabled = await eventually { registry.plugin(named: "v2")?.status == "disabled" }
            #expect(disabled)
            let state = try #require(registry.plugin(named: "v2"))
            let refusal = "refused: protocol 2 is not supported; this agent speaks protocol 1"
            #expect(state.disabledReason == refusal)
            // Was `crash loop: 1 failures in a row; last: refused: …` after a single, deliberate stop.
            #expect(state.lastError == refusal)
            #expect(state.restarts == 0)
        }
    }
}
