//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Foundation
import Logging
import Synchronization
import Testing

/// The alert engine on explicit times (the injected clock of evaluation): `for` durations, hysteresis, incidents.
struct AlertEngineTests {
    let logger = Logger(label: "test")
    static let t0: Int64 = 1_760_000_000_000

    static func at(_ seconds: Int64) -> Timestamp { Timestamp(nanosecondsSinceEpoch: (t0 + seconds * 1000) * 1_000_000) }

    let cpu = AlertThresholds(warning: 80, critical: 95, warningClear: 75, criticalClear: 90, holdFor: .seconds(120))

    @Test func forDurationAndHysteresisFollowTheScript() async throws {
        let database = try temporaryHistoryDatabase()
        let incidents = IncidentStore(database: database)
        let engine = AlertEngine(settings: AlertSettings(), incidents: incidents, bus: nil, logger: logger)
        // (seconds, value, severity after evaluation)
        let script: [(Int64, Double, AlertSeverity)] = [
            (0, 85, .ok),  // above warning, held for 0 s of 120
            (30, 90, .ok),
            (60, 97, .ok),  // above critical since 60
            (90, 86, .ok),  // critical streak broken; warning streak since 0 continues
            (120, 85, .warning),  // 120 s above warning
            (150, 96, .warning),  // critical streak starts again at 150
            (240, 96, .warning),
            (270, 96, .critical),  // 120 s above critical
            (300, 92, .critical),  // below 95 but not below the clear threshold 90
            (330, 89, .warning),  // below 90: down to what the value justifies (above the warning clear 75)
            (360, 78, .warning),  // below 80 but above 75: held
            (390, 74, .ok),  // below 75: cleared
            (400, 99, .ok),  // a 30 s spike raises nothing
            (430, 50, .ok),
            (460, 99, .ok),
        ]
        var transitions: [AlertTransition] = []
        for (seconds, value, expected) in script {
            transitions += await engine.evaluate([AlertInput(rule: "cpu", subject: "", value: value, thresholds: cpu)], at: Self.at(seconds))
            #expect(engine.severity(rule: "cpu") == expected, "at \(seconds) s, value \(value)")
        }
        #expect(transitions.map { "\($0.from.rawValue)>\($0.to.rawValue)@\(($0.at.nanosecondsSinceEpoch / 1_000_000 - Self.t0) / 1000)" } == [
            "ok>warning@120", "warning>critical@270", "critical>warning@330", "warning>ok@390",
        ])
        #expect(transitions.map(\.threshold) == [80, 95, 90, 75])
        let recorded = try await incidents.incidents(from: Self.at(0), to: Self.at(1000))
        #expect(recorded.count == 1)
        let incident = try #require(recorded.first)
        #expect(incident.severity == .critical)
        #expect(incident.startedAt == Self.at(120))
        #expect(incident.endedAt == Self.at(390))
        #expect(incident.durationSeconds(now: Self.at(1000)) == 270)
        #expect(incident.peakValue == 96)
        #expect(incident.peakAt == Self.at(150))
        #expect(incident.lastValue == 74)
        #expect(engine.active().isEmpty)
        #expect(engine.summary() == AlertSummary(state: .ok, warning: 0, critical: 0, enabled: true))
    }

    @Test func aStepOfTheWallClockNeitherRaisesAnAlertEarlyNorHoldsItBack() async throws {
        // Every 30 s of the monotonic clock the value is 85 (above the warning of 80, held for 120 s). The wall clock
        // steps 10 minutes forward, or back, after the first evaluation: the warning is raised at 120 s of the
        // monotonic clock either way, at the wall time of that evaluation.
        for step: Int64 in [600, -600] {
            let engine = AlertEngine(settings: AlertSettings(), incidents: IncidentStore(database: nil), bus: nil, logger: logger)
            var raised: [AlertTransition] = []
            for monotonic: Int64 in stride(from: 0, through: 150, by: 30) {
                let wall = monotonic == 0 ? 0 : monotonic + step
                raised += await engine.evaluate(
                    [AlertInput(rule: "cpu", subject: "", value: 85, thresholds: cpu)], at: Self.at(wall), monotonic: 5_000_000 + monotonic * 1000)
                #expect(engine.severity(rule: "cpu") == (monotonic >= 120 ? .warning : .ok), "step \(step) s, at \(monotonic) s of the monotonic clock")
            }
            #expect(raised.map(\.to) == [.warning], "step \(step) s")
            #expect(raised.first?.at == Self.at(120 + step), "step \(step) s")
        }
    }

    @Test func criticalCanBeReachedDirectlyAndZeroHoldRaisesAtOnce() async throws {
        let engine = AlertEngine(settings: AlertSettings(), incidents: IncidentStore(database: nil), bus: nil, logger: logger)
        var thresholds = cpu
        thresholds.holdFor = .zero
        let first = await engine.evaluate([AlertInput(rule: "memory", subject: "", value: 99, thresholds: thresholds)], at: Self.at(0))
        #expect(first.map(\.to) == [.critical])
        #expect(first.first?.incidentID == 1)
        #expect(engine.summary() == AlertSummary(state: .critical, warning: 0, critical: 1, enabled: true))
        let active = engine.active()
        #expect(active == [ActiveAlert(rule: "memory", subject: "", severity: .critical, value: 99, threshold: 95, since: Self.at(0), incidentID: 1)])
    }

    @Test func diskSubjectsAreIndependentAndAVanishedOneEndsItsIncident() async throws {
        let database = try temporaryHistoryDatabase()
        let incidents = IncidentStore(database: database)
        let engine = AlertEngine(settings: AlertSettings(), incidents: incidents, bus: nil, logger: logger)
        let disk = AlertThresholds(warning: 85, critical: 95, warningClear: 80, criticalClear: 90, holdFor: .zero)
        await engine.evaluate(
            [AlertInput(rule: "disk", subject: "/", value: 50, thresholds: disk), AlertInput(rule: "disk", subject: "/data", value: 96, thresholds: disk)],
            complete: ["disk"], at: Self.at(0))
        #expect(engine.severity(rule: "disk", subject: "/") == .ok)
        #expect(engine.severity(rule: "disk", subject: "/data") == .critical)
        let ended = await engine.evaluate([AlertInput(rule: "disk", subject: "/", value: 50, thresholds: disk)], complete: ["disk"], at: Self.at(60))
        #expect(ended.map { "\($0.subject) \($0.from.rawValue)>\($0.to.rawValue)" } == ["/data critical>ok"])
        let recorded = try await incidents.incidents(from: Self.at(0), to: Self.at(100))
        #expect(recorded.map(\.subject) == ["/data"])
        #expect(recorded.first?.endedAt == Self.at(60))
    }

    @Test func serviceRuleUsesTheCriticalFlag() async throws {
        var settings = AlertSettings()
        settings.holdFor = .zero
        let states = ServiceStates()
        let engine = AlertEngine(settings: settings, incidents: IncidentStore(database: nil), bus: nil, services: { states.get }, logger: logger)
        let cpuBatch = MetricBatch(
            source: "cpu", timestamp: Self.at(0), samples: [],
            report: .cpu(CPUReport(usagePercent: 10, perCore: [], cores: 4, brand: nil, frequencyMHz: nil)))
        states.set([
            ServiceAlertInput(name: "nginx.service", status: "stopped", critical: true),
            ServiceAlertInput(name: "cron.service", status: "error", critical: false),
            ServiceAlertInput(name: "ssh.service", status: "running", critical: true),
            ServiceAlertInput(name: "foo.service", status: "unknown", critical: true),
        ])
        var (inputs, rules) = engine.inputs(for: cpuBatch)
        #expect(rules == ["cpu", "service"])
        await engine.evaluate(inputs, complete: rules, at: Self.at(0))
        #expect(engine.severity(rule: "service", subject: "nginx.service") == .critical)
        #expect(engine.severity(rule: "service", subject: "cron.service") == .warning)
        #expect(engine.severity(rule: "service", subject: "ssh.service") == .ok)
        #expect(engine.severity(rule: "service", subject: "foo.service") == .ok)
        states.set([
            ServiceAlertInput(name: "nginx.service", status: "running", critical: true),
            ServiceAlertInput(name: "cron.service", status: "unresponsive", critical: false),
        ])
        (inputs, rules) = engine.inputs(for: cpuBatch)
        let transitions = await engine.evaluate(inputs, complete: rules, at: Self.at(30))
        #expect(transitions.map(\.message) == ["service nginx.service is running again"])
        #expect(engine.severity(rule: "service", subject: "cron.service") == .warning)
    }

    @Test func servicesCollectorBatchesDriveTheServiceRule() async throws {
        var settings = AlertSettings()
        settings.servicesHoldFor = .zero
        let engine = AlertEngine(settings: settings, incidents: IncidentStore(database: nil), bus: nil, logger: logger)
        func batch(_ services: [ServiceReport]) -> MetricBatch {
            MetricBatch(source: "services", timestamp: Self.at(0), samples: [], report: .services(ServicesReport(services: services, source: .systemd)))
        }
        var (inputs, rules) = engine.inputs(
            for: batch([
                ServiceReport(name: "nginx", status: .stopped, loadState: "loaded", critical: true, source: .systemd),
                ServiceReport(name: "redis", status: .error, loadState: "loaded", source: .systemd),
                ServiceReport(name: "viworks-gateway-agent", status: .stopped, loadState: "not-found", critical: true, source: .systemd),  // not installed
                ServiceReport(name: "mysql", status: .stopped, loadState: "loaded", discovered: true, source: .systemd),  // discovered: not alerted
                ServiceReport(name: "custom", status: .stopped, critical: true, source: .proc),  // no unit state, never seen running
            ]))
        #expect(rules == ["service"])
        await engine.evaluate(inputs, complete: rules, at: Self.at(0))
        #expect(engine.active().map { "\($0.subject) \($0.severity.rawValue)" } == ["nginx critical", "redis warning"])
        // Without unit states a service counts once it was seen running.
        (inputs, rules) = engine.inputs(for: batch([ServiceReport(name: "custom", status: .running, critical: true, source: .proc)]))
        await engine.evaluate(inputs, complete: rules, at: Self.at(30))
        (inputs, rules) = engine.inputs(for: batch([ServiceReport(name: "custom", status: .unresponsive, critical: true, source: .proc)]))
        await engine.evaluate(inputs, complete: rules, at: Self.at(60))
        #expect(engine.active().map { "\($0.subject) \($0.severity.rawValue)" } == ["custom critical"])
    }

    @Test func loadPerCoreDividesByOnlineCPUs() async throws {
        var settings = AlertSettings()
        settings.holdFor = .zero
        settings.loadPerCore = true
        let engine = AlertEngine(settings: settings, incidents: IncidentStore(database: nil), bus: nil, logger: logger)
        _ = engine.inputs(
            for: MetricBatch(source: "cpu", timestamp: Self.at(0), samples: [], report: .cpu(CPUReport(usagePercent: nil, perCore: [], cores: 4, brand: nil, frequencyMHz: nil))))
        let load = MetricBatch(
            source: "load", timestamp: Self.at(0), samples: [],
            report: .load(LoadReport(oneMinute: 10, fiveMinutes: 1, fifteenMinutes: 1, runnableTasks: 1, totalTasks: 100)))
        let (inputs, _) = engine.inputs(for: load)
        #expect(inputs.map(\.value) == [2.5])
        await engine.evaluate(inputs, at: Self.at(0))
        #expect(engine.severity(rule: "load") == .warning)
    }

    @Test func aValueAlternatingAroundTheWarningIsOneIncidentAndOneNotification() async throws {
        // 81, 79, 81, 79… every 30 s around a warning of 80 (clear 75). With `for` 0 the first 81 raises and 79 stays
        // above the clear threshold: one transition (one notification), one incident, still open.
        let incidents = IncidentStore(database: try temporaryHistoryDatabase())
        let engine = AlertEngine(settings: AlertSettings(), incidents: incidents, bus: nil, logger: logger)
        let immediate = AlertThresholds(warning: 80, critical: 95, warningClear: 75, criticalClear: 90, holdFor: .zero)
        var transitions: [AlertTransition] = []
        for step in 0..<20 {
            let value: Double = step % 2 == 0 ? 81 : 79
            transitions += await engine.evaluate([AlertInput(rule: "cpu", subject: "", value: value, thresholds: immediate)], at: Self.at(Int64(step) * 30))
        }
        #expect(transitions.map { "\($0.from.rawValue)>\($0.to.rawValue)" } == ["ok>warning"])
        let recorded = try await incidents.incidents(from: Self.at(0), to: Self.at(1000))
        #expect(recorded.count == 1)
        #expect(recorded.first?.endedAt == nil)
        #expect(recorded.first?.startedAt == Self.at(0))
        // With the default `for` (120 s) the same alternation never holds 120 s above 80: nothing at all.
        let held = AlertEngine(settings: AlertSettings(), incidents: IncidentStore(database: nil), bus: nil, logger: logger)
        var none: [AlertTransition] = []
        for step in 0..<20 {
            none += await held.evaluate([AlertInput(rule: "cpu", subject: "", value: step % 2 == 0 ? 81 : 79, thresholds: cpu)], at: Self.at(Int64(step) * 30))
        }
        #expect(none.isEmpty)
    }

    @Test func anAlertFiringBeforeARestartIsStillFiringAfterItWithItsStartAndNoSecondNotification() async throws {
        let database = try temporaryHistoryDatabase()
        let before = AlertEngine(settings: AlertSettings(), incidents: IncidentStore(database: database), bus: nil, logger: logger)
        var raised: [AlertTransition] = []
        for seconds in stride(from: Int64(0), through: 120, by: 30) {
            raised += await before.evaluate([AlertInput(rule: "cpu", subject: "", value: 85, thresholds: cpu)], at: Self.at(seconds))
        }
        // A disk alert too, whose rule is switched off across the restart.
        let immediate = AlertThresholds(warning: 85, critical: 95, warningClear: 80, criticalClear: 90, holdFor: .zero)
        raised += await before.evaluate([AlertInput(rule: "disk", subject: "/data", value: 90, thresholds: immediate)], at: Self.at(120))
        #expect(raised.map { "\($0.rule) \($0.to.rawValue)@\(($0.at.nanosecondsSinceEpoch / 1_000_000 - Self.t0) / 1000)" } == ["cpu warning@120", "disk warning@120"])
        let incidentID = try #require(raised.first?.incidentID)

        // The agent restarts (a new engine on the same database) with the disk rule off.
        var settings = AlertSettings()
        settings.disk.enabled = false
        let store = IncidentStore(database: database)
        let after = AlertEngine(settings: settings, incidents: store, bus: nil, logger: logger)
        let taken = try await after.resume(at: Self.at(200))
        #expect(taken.resumed == 1)
        #expect(taken.ended == 1)
        let active = after.active()
        #expect(active.map(\.rule) == ["cpu"])
        #expect(active.first?.since == Self.at(120))
        #expect(active.first?.incidentID == incidentID)
        // Still above the clear threshold: no transition, so no notification; the same incident goes on.
        let again = await after.evaluate([AlertInput(rule: "cpu", subject: "", value: 86, thresholds: cpu)], at: Self.at(230))
        #expect(again.isEmpty)
        #expect(after.severity(rule: "cpu") == .warning)
        var recorded = try await store.incidents(from: Self.at(0), to: Self.at(1000))
        #expect(recorded.count == 2)
        let disk = try #require(recorded.first { $0.rule == "disk" })
        #expect(disk.endedAt == Self.at(200))
        #expect(disk.message.hasSuffix("(ended by an agent restart)"))
        // It ends as it would have without the restart: one transition, closing the original incident.
        let ended = await after.evaluate([AlertInput(rule: "cpu", subject: "", value: 70, thresholds: cpu)], at: Self.at(260))
        #expect(ended.map { "\($0.from.rawValue)>\($0.to.rawValue)" } == ["warning>ok"])
        #expect(ended.first?.incidentID == incidentID)
        recorded = try await store.incidents(from: Self.at(0), to: Self.at(1000))
        let cpuIncident = try #require(recorded.first { $0.rule == "cpu" })
        #expect(cpuIncident.id == incidentID)
        #expect(cpuIncident.startedAt == Self.at(120))
        #expect(cpuIncident.endedAt == Self.at(260))
        #expect(cpuIncident.lastValue == 70)
        #expect(cpuIncident.peakValue == 86)
    }

    @Test func incidentsLeftOpenByACrashAreEndedAtTheNextStart() async throws {
        let database = try temporaryHistoryDatabase()
        let incidents = IncidentStore(database: database)
        let id = try await incidents.open(rule: "cpu", subject: "", severity: .warning, at: Self.at(0), value: 85, threshold: 80, message: "cpu warning")
        #expect(try await incidents.closeDangling(at: Self.at(500)) == 1)
        let incident = try #require(try await incidents.incidents(from: Self.at(0), to: Self.at(600)).first)
        #expect(incident.id == id)
        #expect(incident.endedAt == Self.at(500))
        #expect(incident.message == "cpu warning (ended by an agent restart)")
    }

    @Test(arguments: [true, false]) func aRisingPeakKeepsTheIncidentMessage(onDisk: Bool) async throws {
        let incidents = IncidentStore(database: onDisk ? try temporaryHistoryDatabase("peakMessage-\(onDisk)") : nil)
        let engine = AlertEngine(settings: AlertSettings(), incidents: incidents, bus: nil, logger: logger)
        var thresholds = cpu
        thresholds.holdFor = .zero
        await engine.evaluate([AlertInput(rule: "cpu", subject: "", value: 85, thresholds: thresholds)], at: Self.at(0))
        // Still warning, higher values: peak updates without a transition.
        await engine.evaluate([AlertInput(rule: "cpu", subject: "", value: 88, thresholds: thresholds)], at: Self.at(30))
        await engine.evaluate([AlertInput(rule: "cpu", subject: "", value: 91, thresholds: thresholds)], at: Self.at(60))
        let incident = try #require(try await incidents.incidents(from: Self.at(0), to: Self.at(100)).first)
        #expect(incident.peakValue == 91)
        #expect(incident.peakAt == Self.at(60))
        #expect(incident.message == "cpu warning: 85.0 ≥ 80.0")
    }

    @Test func thresholdsFromConfigurationDefaults() {
        let settings = AlertSettings()
        let cpu = AlertThresholds(settings.cpu, defaultHold: settings.holdFor)
        #expect(cpu == AlertThresholds(warning: 80, critical: 95, warningClear: 76, criticalClear: 90.25, holdFor: .seconds(120)))
        #expect(settings.memory.warning == 85 && settings.memory.critical == 95)
        #expect(settings.load.warning == 2 && settings.load.critical == 5)
        #expect(settings.disk.warning == 85 && settings.disk.critical == 95)
    }
}

final class ServiceStates: Sendable {
    private let states = Mutex<[ServiceAlertInput]>([])
    var get: [ServiceAlertInput] { states.withLock { $0 } }
    func set(_ value: [ServiceAlertInput]) { states.withLock { $0 = value } }
}
