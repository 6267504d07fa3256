//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import AgentServer

/// The history and alert routes on the router, against a real database filled with known samples.
struct HistoryRoutesTests {
    static let now: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z

    static func filledStore() async throws -> HistoryStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("viworks-routes-\(UInt64.random(in: 0...UInt64.max))")
        let store = HistoryStore(database: try HistoryDatabase(path: directory.appendingPathComponent("history.db").path))
        let writer = HistoryWriter(store: store, bus: nil, settings: HistorySettings(), clock: ContinuousClock(), logger: Logger(label: "test"))
        // Two hours at 30 s: value = minute of the hour (so each minute's min/max/avg is known).
        for index in 0..<240 {
            let time = now - 2 * 3_600_000 + Int64(index) * 30_000
            let minute = Double((index / 2) % 60)
            writer.record(HistorySample(milliseconds: time, value: minute), series: SeriesKey(name: "viworks_cpu_usage_percent", labels: []))
            writer.record(
                HistorySample(milliseconds: time, value: 10 + minute), series: SeriesKey(name: "viworks_filesystem_usage_percent", labels: [MetricLabel("mountpoint", "/")]))
            writer.record(
                HistorySample(milliseconds: time, value: 20 + minute),
                series: SeriesKey(name: "viworks_filesystem_usage_percent", labels: [MetricLabel("mountpoint", "/data")]))
        }
        try await writer.flush()
        return store
    }

    func application(store: HistoryStore?, alerts: AlertEngine? = nil) -> some ApplicationProtocol {
        var dependencies = FakeAgent().dependencies
        dependencies.history = HistoryContext(
            store: store, settings: HistorySettings(), unavailableReason: "history is disabled ([history] enabled = false)",
            now: { Timestamp(nanosecondsSinceEpoch: Self.now * 1_000_000) })
        dependencies.alerts = alerts
        return Application(router: APIServer.buildRouter(dependencies: dependencies))
    }

    @Test func seriesListAndSteppedHistory() async throws {
        let store = try await Self.filledStore()
        try await application(store: store).test(.router) { client in
            try await client.execute(uri: "/api/v1/metrics", method: .get) { response in
                let body = try json(response.body)
                #expect(body["count"] as? Int == 3)
                let keys = (body["series"] as? [[String: Any]])?.compactMap { $0["key"] as? String }
                #expect(keys == ["viworks_cpu_usage_percent", "viworks_filesystem_usage_percent{mountpoint=\"/\"}", "viworks_filesystem_usage_percent{mountpoint=\"/data\"}"])
            }
            // The last hour in 10-minute buckets, max: minute 9, 19, …, 59 of each bucket.
            try await client.execute(uri: "/api/v1/metrics/viworks_cpu_usage_percent/history?from=\(Self.now / 1000 - 3600)&to=\(Self.now / 1000 - 1)&step=10m&agg=max", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(body["tier"] as? String == "minute")
                #expect(body["step"] as? Int == 600)
                let points = try #require(((body["series"] as? [[String: Any]])?.first?["points"]) as? [[Double]])
                #expect(points.map { $0[1] } == [9, 19, 29, 39, 49, 59])
                #expect(points.first?[0] == Double(Self.now / 1000 - 3600))
            }
            try await client.execute(uri: "/api/v1/metrics/viworks_filesystem_usage_percent/history?label=mountpoint=/data&from=2025-12-31T23:59:00Z&to=2025-12-31T23:59:59Z", method: .get) { response in
                let body = try json(response.body)
                let series = try #require(body["series"] as? [[String: Any]])
                #expect(series.count == 1)
                #expect((series.first?["labels"] as? [String: String]) == ["mountpoint": "/data"])
                #expect((series.first?["points"] as? [[Double]])?.map { $0[1] } == [79, 79])
                #expect(body["tier"] as? String == "raw")
            }
            try await client.execute(uri: "/api/v1/history/status?from=\(Self.now / 1000 - 600)&to=\(Self.now / 1000 - 1)&step=300", method: .get) { response in
                let body = try json(response.body)
                let points = try #require(body["points"] as? [[String: Any]])
                #expect(points.map { $0["cpu_usage_percent"] as? Double } == [52, 57])
                #expect(points.first?["memory_usage_percent"] is NSNull)
            }
        }
    }

    @Test func disabledHistoryIs503AndAlertsWithoutAnEngineAreEmpty() async throws {
        try await application(store: nil).test(.router) { client in
            for uri in ["/api/v1/metrics", "/api/v1/metrics/x/history", "/api/v1/history/status", "/api/v1/reports/daily"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .serviceUnavailable, "\(uri)")
                    let error = try json(response.body)["error"] as? [String: Any]
                    #expect(error?["code"] as? String == "history_unavailable")
                    #expect(error?["message"] as? String == "history is disabled ([history] enabled = false)")
                }
            }
            try await client.execute(uri: "/api/v1/alerts", method: .get) { response in
                let body = try json(response.body)
                #expect((body["summary"] as? [String: Any])?["enabled"] as? Bool == false)
                #expect((body["alerts"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test func alertsIncidentsAndStatusSummary() async throws {
        let engine = AlertEngine(settings: AlertSettings(), incidents: IncidentStore(database: nil), bus: nil, logger: Logger(label: "test"))
        let thresholds = AlertThresholds(warning: 85, critical: 95, warningClear: 80, criticalClear: 90, holdFor: .zero)
        await engine.evaluate(
            [AlertInput(rule: "disk", subject: "/data", value: 88.123, thresholds: thresholds)], at: Timestamp(nanosecondsSinceEpoch: (Self.now - 60_000) * 1_000_000))
        try await application(store: nil, alerts: engine).test(.router) { client in
            try await client.execute(uri: "/api/v1/alerts", method: .get) { response in
                let body = try json(response.body)
                let alert = try #require((body["alerts"] as? [[String: Any]])?.first)
                #expect(alert["rule"] as? String == "disk")
                #expect(alert["subject"] as? String == "/data")
                #expect(alert["severity"] as? String == "warning")
                #expect(alert["value"] as? Double == 88.12)
                #expect(alert["threshold"] as? Double == 85)
                #expect((body["summary"] as? [String: Any])?["state"] as? String == "warning")
            }
            try await client.execute(uri: "/api/v1/incidents?from=2025-12-31T00:00:00Z&to=2026-01-01T00:00:00Z", method: .get) { response in
                let body = try json(response.body)
                #expect(body["count"] as? Int == 1)
                let incident = try #require((body["incidents"] as? [[String: Any]])?.first)
                #expect(incident["started_at"] as? String == "2025-12-31T23:59:00.000000000+00:00")
                #expect(incident["ended_at"] is NSNull)
            }
            try await client.execute(uri: "/api/v1/status", method: .get) { response in
                let alerts = try json(response.body)["alerts"] as? [String: Any]
                #expect(alerts?["state"] as? String == "warning")
                #expect(alerts?["warning"] as? Int == 1)
            }
        }
    }
}
