//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentServer

/// `GET /api/v1/reports/{period}?date=…` in a configured time zone, on the router, against the samples of
/// ``HistoryRoutesTests/filledStore()`` (two hours at 30 s before 2026-01-01T00:00:00Z, CPU = the minute of the hour).
struct ReportRoutesTests {
    func application(store: HistoryStore) -> some ApplicationProtocol {
        var dependencies = FakeAgent().dependencies
        var reports = ReportSettings()
        reports.timeZone = "Europe/Berlin"
        dependencies.history = HistoryContext(
            store: store, settings: HistorySettings(), reports: reports, now: { Timestamp(nanosecondsSinceEpoch: HistoryRoutesTests.now * 1_000_000) })
        return Application(router: APIServer.buildRouter(dependencies: dependencies))
    }

    /// 2025-12-31 in Berlin (CET, +01:00) runs 2025-12-30T23:00Z → 2025-12-31T23:00Z: of the seeded samples it holds the
    /// hour 22:00Z–23:00Z, 120 samples of the minutes 0…59 twice: min 0, max 59, avg 29.5. The capacity window is the 7
    /// days before its end; each filesystem has one hourly average in it (22:00Z), so no line and no date.
    @Test func aCalendarDayInTheConfiguredZone() async throws {
        let store = try await HistoryRoutesTests.filledStore()
        try await application(store: store).test(.router) { client in
            try await client.execute(uri: "/api/v1/reports/daily?date=2025-12-31", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(body["date"] as? String == "2025-12-31")
                #expect(body["time_zone"] as? String == "Europe/Berlin")
                #expect(body["from"] as? String == "2025-12-30T23:00:00.000000000+00:00")
                #expect(body["to"] as? String == "2025-12-31T23:00:00.000000000+00:00")
                #expect(body["from_local"] as? String == "2025-12-31T00:00:00+01:00")
                #expect(body["to_local"] as? String == "2026-01-01T00:00:00+01:00")
                #expect(body["length_seconds"] as? Int == 86_400)
                let cpu = ((body["metrics"] as? [String: Any])?["cpu_usage_percent"] as? [String: Any]) ?? [:]
                #expect(cpu["samples"] as? Int == 120)
                #expect(cpu["min"] as? Double == 0)
                #expect(cpu["max"] as? Double == 59)
                #expect(cpu["avg"] as? Double == 29.5)
                let capacity = try #require(body["capacity"] as? [String: Any])
                #expect(capacity["window"] as? String == "7d")
                #expect(capacity["from"] as? String == "2025-12-24T23:00:00.000000000+00:00")
                #expect(capacity["to"] as? String == "2025-12-31T23:00:00.000000000+00:00")
                let resources = try #require(capacity["resources"] as? [[String: Any]])
                #expect(resources.compactMap { $0["mountpoint"] as? String } == ["/", "/data"])
                #expect(resources.allSatisfy { $0["projected_full_at"] is NSNull && ($0["points"] as? [Any])?.count == 1 })
            }
            // Without date: the rolling 24 hours ending now, still with its local times.
            try await client.execute(uri: "/api/v1/reports/weekly", method: .get) { response in
                let body = try json(response.body)
                #expect(body["date"] is NSNull)
                #expect(body["length_seconds"] as? Int == 604_800)
                #expect(body["to_local"] as? String == "2026-01-01T01:00:00+01:00")
                #expect((body["capacity"] as? [String: Any])?["window"] as? String == "7d")
            }
            try await client.execute(uri: "/api/v1/reports/monthly?date=2025-12-01", method: .get) { response in
                let body = try json(response.body)
                #expect(body["from_local"] as? String == "2025-12-01T00:00:00+01:00")
                #expect(body["length_seconds"] as? Int == 31 * 86_400)
                #expect((body["capacity"] as? [String: Any])?["window"] as? String == "30d")
            }
            for (uri, message) in [
                ("/api/v1/reports/daily?date=2026-02-29", "date: expected a calendar date YYYY-MM-DD (e.g. 2026-03-29) of the years 1970 to 2199, got \"2026-02-29\""),
                ("/api/v1/reports/daily?date=2026-03-29&to=1774821600", "give either date (a calendar period) or to (a rolling period), not both"),
            ] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    let error = try json(response.body)["error"] as? [String: Any]
                    #expect(error?["message"] as? String == message)
                }
            }
        }
    }
}
