//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Logging
import ServiceLifecycleTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Keeps every record: level, message and metadata.
struct RecordingLogHandler: LogHandler {
    let records: Box<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        records.update { $0.append((event.level, "\(event.message)", metadata.merging(event.metadata ?? [:]) { $1 })) }
    }
}

struct ReloadFailure: Error {}

@Suite struct ReloadCoordinatorTests {
    let events = Box<[String]>([])
    let records = Box<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])
    let next = Box<Result<AgentConfiguration, ConfigError>>(.success(AgentConfiguration()))
    let level = LogLevelControl(.info)

    func coordinator() -> ReloadCoordinator {
        let records = self.records
        let events = self.events
        let next = self.next
        return ReloadCoordinator(
            configuration: AgentConfiguration(), load: { () throws(ConfigError) in try next.get.get() }, logLevel: level,
            willReload: { events.update { $0.append("will") } }, didReload: { events.update { $0.append("did") } },
            logger: Logger(label: "test", factory: { _ in RecordingLogHandler(records: records) })
        )
    }

    @Test func aValidReloadRunsHandlersInOrderAndAppliesTheLogLevelLive() async {
        let reloader = coordinator()
        let events = self.events
        reloader.register("first") { config in events.update { $0.append("first \(config.log.level)") } }
        reloader.register("broken") { _ in throw ReloadFailure() }
        reloader.register("last") { _ in events.update { $0.append("last") } }
        var new = AgentConfiguration()
        new.log.level = "debug"
        new.interval = .seconds(5)
        next.set(.success(new))
        let outcome = await reloader.reload()
        #expect(outcome == .applied(live: ["log.level"], needRestart: ["agent.interval"], failedHandlers: ["broken"]))
        #expect(events.get == ["will", "first debug", "last", "did"])
        #expect(level.level == .debug)
        // The running configuration has the live change only.
        #expect(reloader.configuration.log.level == "debug")
        #expect(reloader.configuration.interval == .seconds(30))
        #expect(records.get.contains { $0.level == .error && $0.metadata["reload_handler"] == "broken" })
        // The same file again: still waiting for a restart, nothing live.
        #expect(await reloader.reload() == .applied(live: [], needRestart: ["agent.interval"], failedHandlers: ["broken"]))
    }

    @Test func anInvalidConfigurationIsRejectedAndLoggedWithFileLineAndKey() async {
        let reloader = coordinator()
        let events = self.events
        reloader.register("never") { _ in events.update { $0.append("handler") } }
        let issue = ConfigIssue(source: "/etc/viworks-agent/agent.toml", line: 7, key: "agent.interval", message: "expected a duration")
        next.set(.failure(ConfigError(issues: [issue])))
        #expect(await reloader.reload() == .rejected([issue]))
        #expect(events.get == ["will", "did"])
        #expect(level.level == .info)
        #expect(reloader.configuration == AgentConfiguration())
        let errors = records.get.filter { $0.level == .error }
        #expect(errors.count == 2)
        #expect(errors.first?.message == "invalid configuration: /etc/viworks-agent/agent.toml:7: agent.interval: expected a duration")
        #expect(errors.first?.metadata["file"] == "/etc/viworks-agent/agent.toml")
        #expect(errors.first?.metadata["line"] == "7")
        #expect(errors.first?.metadata["key"] == "agent.interval")
    }

    @Test func sighupTriggersAReload() async throws {
        // Ignore SIGHUP until the coordinator's signal source is installed, so an early one cannot end the test process.
        signal(SIGHUP, SIG_IGN)
        let reloader = coordinator()
        let events = self.events
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await reloader.run() }
                let reloaded = await eventually(within: 10) {
                    kill(getpid(), SIGHUP)
                    try? await Task.sleep(for: .milliseconds(20))
                    return events.get.contains("did")
                }
                #expect(reloaded)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }
}
