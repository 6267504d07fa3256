//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Testing

@Suite("domain rules: health, status-simple, reports")
struct DomainRulesTests {
    private static let at = Timestamp(secondsSinceEpoch: 1_800_000_000)

    private static func state(_ name: String, core: Bool, _ status: ChildStatus) -> ChildState {
        ChildState(name: name, kind: "collector", core: core, status: status)
    }

    // MARK: - Health

    @Test func healthIsUnhealthyOnlyWhenACoreCollectorFailed() {
        let failed = AgentHealth.evaluate(
            collectors: [Self.state("cpu", core: true, .running), Self.state("disk", core: true, .failed), Self.state("temperature", core: false, .failed)],
            firstCollectionDone: true)
        #expect(failed == AgentHealth(status: .unhealthy, failedCollectors: ["disk"]))
        #expect(!failed.isHealthy)
        // A failed core collector outranks "starting".
        #expect(AgentHealth.evaluate(collectors: [Self.state("cpu", core: true, .failed)], firstCollectionDone: false).status == .unhealthy)
        #expect(AgentHealth.evaluate(collectors: [Self.state("cpu", core: true, .running)], firstCollectionDone: false) == AgentHealth(status: .starting))
        // An optional collector's failure or a restart degrades status-simple, not health.
        let healthy = AgentHealth.evaluate(
            collectors: [Self.state("cpu", core: true, .restarting), Self.state("temperature", core: false, .failed)], firstCollectionDone: true)
        #expect(healthy == AgentHealth(status: .healthy, failedCollectors: []))
        #expect(healthy.isHealthy)
    }

    @Test func healthNamesTheStateDatabasesThatDoNotWorkWithoutChangingItsStatus() {
        let storage = StorageHealth()
        let running = [Self.state("cpu", core: true, .running)]
        #expect(AgentHealth.evaluate(collectors: running, firstCollectionDone: true, storage: storage) == AgentHealth(status: .healthy))
        storage.set(.audit, StorageCondition(status: .degraded, reason: "writes fail, commands are refused: database or disk is full"))
        storage.set(.history, StorageCondition(status: .ok, reason: "the damaged history database was moved aside"))
        let health = AgentHealth.evaluate(collectors: running, firstCollectionDone: true, storage: storage)
        #expect(health.status == .healthy)
        #expect(health.storageProblems == ["audit storage degraded: writes fail, commands are refused: database or disk is full"])
        // The same words as status-simple's reasons.
        let condition = AgentCondition.evaluate(snapshot: AgentSnapshot(), collectors: running, storage: storage)
        #expect(condition.reasons.contains(health.storageProblems[0]))
    }

    // MARK: - Status-simple

    private static func snapshot(cpu: Double?, cores: Int, memory: Double, load: Double) -> AgentSnapshot {
        var snapshot = AgentSnapshot()
        snapshot.apply(
            MetricBatch(source: "cpu", timestamp: at, samples: [], report: .cpu(CPUReport(usagePercent: cpu, perCore: [], cores: cores, brand: nil, frequencyMHz: nil))))
        snapshot.apply(
            MetricBatch(
                source: "memory", timestamp: at, samples: [],
                report: .memory(
                    MemoryReport(
                        totalBytes: 1000, usedBytes: UInt64(memory * 10), availableBytes: 1000 - UInt64(memory * 10), usagePercent: memory,
                        availableEstimated: false, swapTotalBytes: 0, swapFreeBytes: 0))))
        snapshot.apply(
            MetricBatch(
                source: "load", timestamp: at, samples: [],
                report: .load(LoadReport(oneMinute: load, fiveMinutes: 0, fifteenMinutes: 0, runnableTasks: 1, totalTasks: 1))))
        return snapshot
    }

    @Test func simpleStatusJudgesTheFiguresByTheConfiguredThresholds() {
        var alerts = AlertSettings()
        alerts.load.enabled = false
        alerts.cpu.warning = 70
        let snapshot = Self.snapshot(cpu: 72, cores: 4, memory: 50, load: 3)
        let status = SimpleStatus.evaluate(snapshot: snapshot, collectors: [], thresholds: AgentCondition.Thresholds(alerts))
        #expect(status.condition == AgentCondition(status: .degraded, reasons: ["cpu_usage_percent 72.0 >= 70.0"]))
        #expect(status.updatedAt == Self.at)
        #expect(status.cpuUsagePercent == 72)
        #expect(status.memoryUsagePercent == 50)
        #expect(status.diskUsagePercent == nil)
        // Load 3 on 4 CPUs: 75 % of the machine.
        #expect(status.loadPercent == 75)
        // With the default CPU thresholds (80 / 95) the same figures are healthy; a failed core collector makes it critical.
        var defaults = AlertSettings()
        defaults.load.enabled = false
        #expect(SimpleStatus.evaluate(snapshot: snapshot, collectors: [], thresholds: AgentCondition.Thresholds(defaults)).condition.status == .healthy)
        // The default load rule (absolute, warning 2) finds load 3 degraded.
        #expect(
            SimpleStatus.evaluate(snapshot: snapshot, collectors: [], thresholds: AgentCondition.Thresholds(AlertSettings())).condition
                == AgentCondition(status: .degraded, reasons: ["load_average.one_minute 3.0 >= 2.0"]))
        let critical = SimpleStatus.evaluate(
            snapshot: snapshot, collectors: [Self.state("disk", core: true, .failed), Self.state("temperature", core: false, .restarting)],
            thresholds: AgentCondition.Thresholds(alerts))
        #expect(critical.condition.status == .critical)
        #expect(critical.condition.reasons == ["collector disk failed", "cpu_usage_percent 72.0 >= 70.0", "collector temperature restarting"])
    }

    @Test func loadPercentNeedsACPUCountAndStartingNeedsNoBatch() {
        #expect(SimpleStatus.loadPercent(Self.snapshot(cpu: nil, cores: 0, memory: 10, load: 3)) == nil)
        #expect(SimpleStatus.loadPercent(Self.snapshot(cpu: nil, cores: 8, memory: 10, load: 2)) == 25)
        let empty = SimpleStatus.evaluate(snapshot: AgentSnapshot(), collectors: [])
        #expect(empty.condition == AgentCondition(status: .starting, reasons: []))
        #expect(empty.updatedAt == nil && empty.cpuUsagePercent == nil && empty.loadPercent == nil)
    }

    // MARK: - Reports

    private static func row(_ start: Int64, minimum: Double, maximum: Double, sum: Double, count: Int64) -> RollupRow {
        RollupRow(start: start, aggregate: Aggregate(minimum: minimum, maximum: maximum, sum: sum, count: count, last: maximum, lastTime: start * 1000))
    }

    @Test func summaryIsExactOverSamplesAndP95IsTheNearestRankOfMinuteAverages() {
        // Minute averages 20, 50, 40; every sample: min 5, max 50, 230 / 6.
        let summary = PeriodReport.summarize([
            Self.row(0, minimum: 10, maximum: 30, sum: 40, count: 2), Self.row(60, minimum: 5, maximum: 50, sum: 150, count: 3),
            Self.row(120, minimum: 40, maximum: 40, sum: 40, count: 1),
        ])
        #expect(summary.minimum == 5)
        #expect(summary.maximum == 50)
        #expect(summary.average == 230.0 / 6)
        #expect(summary.samples == 6)
        // ceil(0.95 × 3) = rank 3 of [20, 40, 50].
        #expect(summary.p95 == 50)
        // Averages 1 … 20: rank ceil(0.95 × 20) = 19.
        let twenty = PeriodReport.summarize((1...20).map { Self.row(Int64($0) * 60, minimum: Double($0), maximum: Double($0), sum: Double($0), count: 1) })
        #expect(twenty.p95 == 19)
        #expect(twenty.average == 10.5)
        #expect(PeriodReport.summarize([]) == PeriodReport.MetricSummary(minimum: nil, average: nil, p95: nil, maximum: nil, samples: 0))
    }

    private static func incident(
        _ rule: String, _ subject: String, _ severity: AlertSeverity, from start: Double, to end: Double?
    ) -> Incident {
        Incident(
            id: 1, rule: rule, subject: subject, severity: severity, startedAt: Timestamp(secondsSinceEpoch: start),
            endedAt: end.map { Timestamp(secondsSinceEpoch: $0) }, peakValue: 0, peakAt: Timestamp(secondsSinceEpoch: start), lastValue: 0, threshold: 0,
            message: "")
    }

    @Test func availabilityCountsTheServiceIncidentsInsideThePeriod() throws {
        let from = Timestamp(secondsSinceEpoch: 0)
        let to = Timestamp(secondsSinceEpoch: 86_400)
        let incidents = [
            // Began an hour before the period: only its first hour inside counts (3600 s).
            Self.incident("service", "nginx", .critical, from: -3600, to: 3600),
            // Still open: counts to the end of the period (43200 s).
            Self.incident("service", "nginx", .critical, from: 43_200, to: nil),
            Self.incident("service", "db", .warning, from: 1000, to: 1864),
            // Other rules are not availability.
            Self.incident("cpu", "", .warning, from: 0, to: 86_400),
        ]
        let services = PeriodReport.availability(of: incidents, from: from, to: to)
        #expect(services.map(\.name) == ["db", "nginx"])
        let db = try #require(services.first)
        #expect(db.downtimeSeconds == 864)
        #expect(db.incidents == 1)
        #expect(abs(db.availabilityPercent - 99) < 1e-9)
        let nginx = try #require(services.last)
        #expect(nginx.downtimeSeconds == 46_800)
        #expect(nginx.incidents == 2)
        // 1 − 46800 / 86400 = 0.458333…
        #expect(abs(nginx.availabilityPercent - 45.833_333_333) < 1e-6)
        // A zero-length period is fully available.
        #expect(PeriodReport.availability(of: incidents, from: from, to: from).map(\.availabilityPercent) == [100, 100])

        let report = PeriodReport(
            period: .daily, from: from, to: to, cpuUsagePercent: .init(), memoryUsagePercent: .init(), diskUsagePercent: .init(), loadOneMinute: .init(),
            incidents: incidents, services: services)
        #expect(report.warningIncidents == 2)
        #expect(report.criticalIncidents == 2)
        #expect(report.incidentsByRule == ["service": 3, "cpu": 1])
    }

    @Test func reportPeriodsHaveTheirLengths() {
        #expect(PeriodReport.Period.allCases.map(\.seconds) == [86_400, 604_800, 2_592_000])
        #expect(PeriodReport.Period(rawValue: "weekly") == .weekly)
        #expect(PeriodReport.Period(rawValue: "yearly") == nil)
    }
}
