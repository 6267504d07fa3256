//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import AgentServer

/// A hand-made agent state: a snapshot store fed directly and a scripted supervisor view.
final class FakeAgent: Sendable {
    let bus = MetricsBus()
    let store: SnapshotStore
    let states = Mutex<[ChildState]>([])

    init(required: Set<String> = ["cpu", "memory"]) {
        store = SnapshotStore(bus: bus, requiredSources: required, sectionKeys: CollectorCatalog.systemInfoSectionKeys)
    }

    var dependencies: APIDependencies {
        APIDependencies(
            snapshots: store, collectorStates: { self.states.withLock { $0 } },
            busStatistics: { BusStatistics(published: 7, dropped: ["slow": 2]) }, version: "9.9.9",
            startedAt: 100, monotonicSeconds: { 112.5 }, startTimestamp: Timestamp(nanosecondsSinceEpoch: 1_700_000_000_000_000_000)
        )
    }

    func apply(_ source: String, _ report: CollectorReport, samples: [MetricSample] = []) {
        store.apply(MetricBatch(source: source, timestamp: Timestamp(nanosecondsSinceEpoch: 1_756_890_415_757_303_636), samples: samples, report: report))
    }

    func setCollector(_ name: String, core: Bool = true, status: ChildStatus) {
        states.withLock { states in
            states.removeAll { $0.name == name }
            var state = ChildState(name: name, kind: "collector", core: core, status: status)
            if status == .failed { state.lastError = "crash loop" }
            states.append(state)
        }
    }

    func application() -> some ApplicationProtocol {
        Application(router: APIServer.buildRouter(dependencies: dependencies))
    }
}

func json(_ buffer: ByteBuffer) throws -> [String: Any] {
    let data = Data(buffer.readableBytesView)
    return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
}

let cpu50 = CPUReport(usagePercent: 50, perCore: [.init(cpu: "cpu0", usagePercent: 50)], cores: 1, brand: "Test CPU", frequencyMHz: 2400)
let memory = MemoryReport(
    totalBytes: 2_147_483_648, usedBytes: 386_547_056, availableBytes: 1_760_936_592, usagePercent: 18, availableEstimated: false,
    swapTotalBytes: 0, swapFreeBytes: 0)

struct HealthTests {
    @Test func startingUntilEveryCoreCollectorReportedThenHealthy() async throws {
        let agent = FakeAgent()
        try await agent.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try json(response.body)
                #expect(body["status"] as? String == "starting")
                #expect(body["version"] as? String == "9.9.9")
                #expect(body["agent_uptime_seconds"] as? Double == 12.5)
                #expect(body["uptime"] is NSNull)
            }
            agent.apply("cpu", .cpu(cpu50))
            agent.apply("uptime", .uptime(UptimeReport(uptimeSeconds: 4111.7, idleSeconds: 8000)))
            try await client.execute(uri: "/api/v1/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable, "memory has not reported yet")
            }
            agent.apply("memory", .memory(memory))
            try await client.execute(uri: "/api/v1/health", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(body["status"] as? String == "healthy")
                #expect(body["uptime"] as? Int == 4111)
            }
        }
    }

    @Test func aFailedCoreCollectorMakesItUnhealthyAFailedOptionalOneDoesNot() async throws {
        let agent = FakeAgent(required: [])
        agent.setCollector("temperature", core: false, status: .failed)
        try await agent.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/health", method: .get) { response in
                #expect(response.status == .ok)
            }
            agent.setCollector("cpu", core: true, status: .failed)
            try await client.execute(uri: "/api/v1/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try json(response.body)
                #expect(body["status"] as? String == "unhealthy")
                #expect(body["failed_collectors"] as? [String] == ["cpu"])
            }
        }
    }
}

struct StatusTests {
    @Test func statusCarriesTheSpecFieldsWithNullsForUnknownValues() async throws {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(cpu50))
        agent.apply("memory", .memory(memory))
        agent.apply("load", .load(LoadReport(oneMinute: 0, fiveMinutes: 0.02, fifteenMinutes: 0.13, runnableTasks: 1, totalTasks: 90)))
        try await agent.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/status", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let body = try json(response.body)
                #expect(body["timestamp"] as? String == "2025-09-03T09:06:55.757303636+00:00")
                let health = try #require(body["system_health"] as? [String: Any])
                #expect(health["cpu_usage_percent"] as? Double == 50)
                #expect(health["memory_usage_percent"] as? Double == 18)
                #expect(health["disk_usage_percent"] is NSNull)
                #expect(health["temperature"] is NSNull)
                #expect(health["uptime_seconds"] is NSNull)
                let load = try #require(health["load_average"] as? [String: Any])
                #expect(load["one_minute"] as? Double == 0)
                #expect(load["five_minutes"] as? Double == 0.02)
                #expect(load["fifteen_minutes"] as? Double == 0.13)
                #expect((body["services"] as? [Any])?.isEmpty == true)
                #expect((body["containers"] as? [Any])?.isEmpty == true)
                let info = try #require(body["system_info"] as? [String: Any])
                let memoryInfo = try #require(info["memory"] as? [String: Any])
                // 2 GiB total; 386 547 056 B = 0.36 GiB; 1 760 936 592 B = 1.64 GiB (the spec's example figures).
                #expect(memoryInfo["total_gb"] as? Double == 2)
                #expect(memoryInfo["used_gb"] as? Double == 0.36)
                #expect(memoryInfo["available_gb"] as? Double == 1.64)
                let cpu = try #require(info["cpu"] as? [String: Any])
                #expect(cpu["cores"] as? Int == 1)
                #expect(cpu["frequency"] as? Double == 2400)
                #expect(cpu["brand"] as? String == "Test CPU")
                #expect(info["network"] is NSNull)
            }
        }
    }

    @Test func pollsAreServedFromTheCacheWithETagsAnd304() async throws {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(cpu50))
        try await agent.application().test(.router) { client in
            let first = try await client.execute(uri: "/api/v1/status", method: .get)
            let etag = try #require(first.headers[.eTag])
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""))
            let again = try await client.execute(uri: "/api/v1/status", method: .get)
            #expect(again.headers[.eTag] == etag)
            #expect(again.body == first.body)
            for header in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
                let conditional = try await client.execute(uri: "/api/v1/status", method: .get, headers: [.ifNoneMatch: header])
                #expect(conditional.status == .notModified, "If-None-Match: \(header)")
                #expect(conditional.body.readableBytes == 0)
            }
            let stale = try await client.execute(uri: "/api/v1/status", method: .get, headers: [.ifNoneMatch: "\"stale\""])
            #expect(stale.status == .ok)
            // A new collection changes the body and the tag.
            agent.apply("memory", .memory(memory))
            let after = try await client.execute(uri: "/api/v1/status", method: .get, headers: [.ifNoneMatch: etag])
            #expect(after.status == .ok)
            #expect(after.headers[.eTag] != etag)
            // So does a supervisor event without a collection (a restart).
            let tag2 = try #require(after.headers[.eTag])
            agent.setCollector("cpu", status: .restarting)
            let restarted = try await client.execute(uri: "/api/v1/status", method: .get, headers: [.ifNoneMatch: tag2])
            #expect(restarted.status == .ok)
        }
    }

    @Test(arguments: [
        (cpu: 10.0, memory: 18.0, expected: "healthy"),
        (cpu: 80.0, memory: 18.0, expected: "degraded"),
        (cpu: 94.99, memory: 18.0, expected: "degraded"),
        (cpu: 95.0, memory: 18.0, expected: "critical"),
        (cpu: 10.0, memory: 85.0, expected: "degraded"),
        (cpu: 10.0, memory: 95.0, expected: "critical"),
    ])
    func statusSimpleThresholds(cpu: Double, memory usage: Double, expected: String) async throws {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(CPUReport(usagePercent: cpu, perCore: [], cores: 2, brand: nil, frequencyMHz: nil)))
        var report = memory
        report.usagePercent = usage
        agent.apply("memory", .memory(report))
        agent.apply("load", .load(LoadReport(oneMinute: 0.5, fiveMinutes: 0, fifteenMinutes: 0, runnableTasks: 1, totalTasks: 1)))
        try await agent.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/status-simple", method: .get) { response in
                let body = try json(response.body)
                #expect(body["status"] as? String == expected)
                #expect(body["cpu_usage_percent"] as? Double == cpu)
                // load 0.5 on 2 CPUs = 25 % of capacity.
                #expect(body["load_percent"] as? Double == 25)
                #expect(((body["reasons"] as? [String]) ?? []).isEmpty == (expected == "healthy"))
            }
        }
    }

    /// status-simple judges by the configured alert thresholds, not by the specification's defaults: `[alerts.cpu]
    /// warning = 70` makes 72 % degraded; a rule switched off is not judged; per-core load scales by the CPU count.
    @Test func statusSimpleFollowsTheConfiguredAlertThresholds() async throws {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(CPUReport(usagePercent: 72, perCore: [], cores: 4, brand: nil, frequencyMHz: nil)))
        agent.apply("load", .load(LoadReport(oneMinute: 6, fiveMinutes: 0, fifteenMinutes: 0, runnableTasks: 1, totalTasks: 1)))
        func verdict(_ alerts: AlertSettings) async throws -> (String?, [String]?) {
            var dependencies = agent.dependencies
            dependencies.headlineThresholds = AgentCondition.Thresholds(alerts)
            return try await Application(router: APIServer.buildRouter(dependencies: dependencies)).test(.router) { client in
                let response = try await client.execute(uri: "/api/v1/status-simple", method: .get)
                let body = try json(response.body)
                return (body["status"] as? String, body["reasons"] as? [String])
            }
        }
        var alerts = AlertSettings()
        alerts.load.enabled = false
        // The defaults (80 / 95): 72 % is healthy.
        #expect(try await verdict(alerts) == ("healthy", []))
        alerts.cpu.warning = 70
        #expect(try await verdict(alerts) == ("degraded", ["cpu_usage_percent 72.0 >= 70.0"]))
        alerts.cpu.critical = 72
        #expect(try await verdict(alerts) == ("critical", ["cpu_usage_percent 72.0 >= 72.0"]))
        alerts.cpu.enabled = false
        #expect(try await verdict(alerts) == ("healthy", []))
        // Load 6: critical against the absolute 5, degraded against 2 / 5 per CPU on 4 CPUs (8 / 20).
        alerts.load.enabled = true
        #expect(try await verdict(alerts) == ("critical", ["load_average.one_minute 6.0 >= 5.0"]))
        alerts.loadPerCore = true
        #expect(try await verdict(alerts) == ("healthy", []))
        alerts.load.warning = 1.5
        #expect(try await verdict(alerts) == ("degraded", ["load_average.one_minute 6.0 >= 6.0"]))
    }

    @Test func statusSimpleIsCriticalWhenACoreCollectorFailed() async throws {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(cpu50))
        agent.setCollector("disk", status: .failed)
        agent.setCollector("temperature", core: false, status: .restarting)
        try await agent.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/status-simple", method: .get) { response in
                let body = try json(response.body)
                #expect(body["status"] as? String == "critical")
                #expect(body["reasons"] as? [String] == ["collector disk failed", "collector temperature restarting"])
            }
        }
    }
}

struct ErrorAndMetricsTests {
    @Test func unknownRoutesAndWrongMethodsGetJSONErrors() async throws {
        let agent = FakeAgent()
        try await agent.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/nope", method: .get) { response in
                #expect(response.status == .notFound)
                let error = try #require(try json(response.body)["error"] as? [String: String])
                #expect(error["code"] == "not_found")
                #expect(error["message"] == "no route for GET /api/v1/nope")
            }
            try await client.execute(uri: "/api/v1/status", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, HEAD, OPTIONS")
                let error = try #require(try json(response.body)["error"] as? [String: String])
                #expect(error["code"] == "method_not_allowed")
            }
            // A method the router has no handler for at all, on a served path: 405 as well, not 404.
            try await client.execute(uri: "/api/v1/status", method: HTTPRequest.Method("PROPFIND")!) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, HEAD, OPTIONS")
            }
            // Echoed paths are shortened.
            try await client.execute(uri: "/" + String(repeating: "a", count: 3000), method: .get) { response in
                #expect(response.status == .notFound)
                let error = try #require(try json(response.body)["error"] as? [String: String])
                #expect((error["message"]?.count ?? 0) < 300)
            }
            try await client.execute(uri: "/metrics", method: .options) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.allow] == "GET, HEAD, OPTIONS")
            }
        }
    }

    @Test func metricsExposesSamplesAndTheAgentsOwnHealth() async throws {
        let agent = FakeAgent()
        agent.apply("load", .load(LoadReport(oneMinute: 0.25, fiveMinutes: 0, fifteenMinutes: 0, runnableTasks: 1, totalTasks: 1)),
            samples: [MetricSample("viworks_load1", .gauge, 0.25, help: "1-minute load average.")])
        agent.states.withLock {
            var state = ChildState(name: "load", kind: "collector", core: true, status: .running)
            state.restarts = 3
            state.collections = 10
            state.lastDurationSeconds = 0.000125
            state.lastSuccess = true
            $0 = [state]
        }
        try await agent.application().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let lines = Set(String(buffer: response.body).split(separator: "\n").map(String.init))
                for expected in [
                    "viworks_load1 0.25", "# TYPE viworks_load1 gauge", "viworks_collector_up{collector=\"load\"} 1.0",
                    "viworks_collector_restarts_total{collector=\"load\"} 3.0", "viworks_collector_collections_total{collector=\"load\"} 10.0",
                    "viworks_collector_duration_seconds{collector=\"load\"} 0.000125", "viworks_collector_success{collector=\"load\"} 1.0",
                    "viworks_bus_dropped_batches_total{subscriber=\"slow\"} 2.0", "viworks_bus_published_batches_total 7.0",
                    "viworks_agent_info{version=\"9.9.9\"} 1.0", "# TYPE viworks_collector_restarts_total counter",
                ] {
                    #expect(lines.contains(expected), "missing \(expected)")
                }
            }
        }
    }

    /// The history writer's bounds are visible: series held, samples refused by reason, series let go, failed flushes.
    @Test func metricsExposesTheHistoryWritersBounds() async throws {
        let agent = FakeAgent()
        var dependencies = agent.dependencies
        dependencies.historyWriter = FixedHistoryWriter(
            statistics: HistoryWriterStatistics(
                batchesReceived: 12, skippedNonFinite: 0, flushes: 3, flushFailures: 1, openSeries: 20_000, lastFlush: nil, lastError: nil,
                refusedSeriesSamples: 465, outOfOrderSamples: 2, evictedSeries: 10))
        let text = try await Application(router: APIServer.buildRouter(dependencies: dependencies)).test(.router) { client in
            String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
        }
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            "viworks_history_open_series 20000.0", "viworks_history_refused_samples_total{reason=\"series_limit\"} 465.0",
            "viworks_history_refused_samples_total{reason=\"out_of_order\"} 2.0", "viworks_history_released_series_total 10.0",
            "viworks_history_flush_failures_total 1.0", "# TYPE viworks_history_refused_samples_total counter",
        ] {
            #expect(lines.contains(expected), "missing \(expected)")
        }
    }

    @Test func ifNoneMatchParsing() {
        #expect(StatusController.matches("\"a\"", etag: "\"a\""))
        #expect(StatusController.matches("W/\"a\"", etag: "\"a\""))
        #expect(StatusController.matches(" \"b\" , \"a\" ", etag: "\"a\""))
        #expect(StatusController.matches("*", etag: "\"a\""))
        #expect(!StatusController.matches("\"b\"", etag: "\"a\""))
        #expect(!StatusController.matches("a", etag: "\"a\""))
    }

    @Test func everyRouteOfTheTableIsServed() async throws {
        let agent = FakeAgent(required: [])
        try await agent.application().test(.router) { client in
            for route in declaredRoutes {
                // Routes with a parameter: the fake agent has no such plugin, service, job or report, so they answer 404
                // (their own tests cover them); service control without operations wired (commands disabled), history
                // without a database and sessions without containers answer 503.
                if route.path.contains("{") {
                    var uri = route.path
                    while let open = uri.firstIndex(of: "{"), let close = uri[open...].firstIndex(of: "}") {
                        uri.replaceSubrange(open...close, with: "nope")
                    }
                    let response = try await client.execute(uri: uri, method: route.method)
                    let unavailable = (route.method == .post && route.path.hasPrefix("/api/v1/services/")) || route.path.hasPrefix("/api/v1/metrics/")
                        || route.path.hasPrefix("/api/v1/sessions/")
                    let expected: HTTPResponse.Status = unavailable ? .serviceUnavailable : .notFound
                    #expect(response.status == expected, "\(route.method) \(route.path) → \(response.status)")
                    continue
                }
                let response = try await client.execute(uri: route.path, method: route.method)
                #expect(response.status == .ok || response.status == .serviceUnavailable, "\(route.method) \(route.path) → \(response.status)")
            }
        }
    }
}

/// A history writer's view with fixed figures.
private struct FixedHistoryWriter: HistoryWriterView {
    var statistics: HistoryWriterStatistics
    var retryBuffer: (pendingSamples: Int, droppedSamples: UInt64, droppedRollupBuckets: UInt64) = (0, 0, 0)
}
