//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import Hummingbird

/// `GET /api/v1/alerts`, `GET /api/v1/alerts/rules` and `GET /api/v1/incidents`.
public struct AlertsController: Sendable {
    let alerts: AlertEngine?
    let now: @Sendable () -> Timestamp

    /// The thresholds of the headline rules (`[alerts.cpu]`, `…memory`, `…disk`, `…load`); nil for a rule switched off.
    let thresholds: AgentCondition.Thresholds

    public init(alerts: AlertEngine?, thresholds: AgentCondition.Thresholds = AgentCondition.Thresholds(), now: @escaping @Sendable () -> Timestamp = { .now() }) {
        self.alerts = alerts
        self.thresholds = thresholds
        self.now = now
    }

    /// The routes this controller declares; ``APIServer`` registers them.
    public var routes: [Route] {
        [
            Route(.get, "/api/v1/alerts", .viewer, "Active alerts (not ok) and the alert summary") { request, _ in
                _ = try QueryParameters(request, allowed: [])
                return try jsonResponse(AlertsDTO(summary: alerts?.summary() ?? AlertSummary(enabled: false), alerts: alerts?.active() ?? []))
            },
            Route(.get, "/api/v1/alerts/rules", .viewer, "The warning and critical thresholds of the cpu, memory, disk and load rules") { request, _ in
                _ = try QueryParameters(request, allowed: [])
                return try jsonResponse(AlertRulesDTO(enabled: alerts?.isEnabled ?? false, thresholds: thresholds))
            },
            Route(.get, "/api/v1/incidents", .viewer, "Alert incidents (start, peak, end, duration) overlapping from..to") { request, _ in
                let parameters = try QueryParameters(request, allowed: ["from", "to", "limit"])
                let current = now()
                let (from, to) = try parameters.range(now: current, defaultSpan: 7 * 86_400)
                let limit = try parameters.integer("limit", in: 1...10_000) ?? 1000
                let fromTime = Timestamp(millisecondsSinceEpoch: from)
                let toTime = Timestamp(millisecondsSinceEpoch: to)
                let incidents = try await alerts?.incidentStore.incidents(from: fromTime, to: toTime, limit: limit) ?? []
                return try jsonResponse(IncidentsDTO(from: fromTime, to: toTime, incidents: incidents, now: current))
            },
        ]
    }
}
