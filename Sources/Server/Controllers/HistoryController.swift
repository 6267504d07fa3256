//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import FoundationEssentials
import Hummingbird

/// `GET /api/v1/metrics`, `GET /api/v1/metrics/{name}/history`, `GET /api/v1/history/status`, `GET /api/v1/capacity`
/// and `GET /api/v1/reports/{period}`. Not cached: they depend on their query.
public struct HistoryController: Sendable {
    let context: HistoryContext?
    let alerts: AlertEngine?

    public init(context: HistoryContext?, alerts: AlertEngine?) {
        self.context = context
        self.alerts = alerts
    }

    /// The routes this controller declares; ``APIServer`` registers them.
    public var routes: [Route] {
        [
            Route(.get, "/api/v1/metrics", .viewer, "Every stored history series with its labels") { request, _ in
                let query = try QueryParameters(request, allowed: ["name"])
                let store = try available()
                return try jsonResponse(SeriesListDTO(series: try await store.series(named: query.text("name"))))
            },
            Route(.get, "/api/v1/metrics/{name}/history", .viewer, "History of one metric: raw points or buckets (from, to, step, agg), tier chosen automatically") { request, requestContext in
                let name = try requestContext.pathParameter("name")
                let parameters = try QueryParameters(request, allowed: ["from", "to", "step", "agg", "label"], repeatable: ["label"])
                let (store, settings) = try availableWithSettings()
                let now = context?.now() ?? .now()
                let (from, to) = try parameters.range(now: now, defaultSpan: 3600)
                let step = try parameters.step()
                let function = try parameters.aggregate()
                let filters = try parameters.labels()
                let query = HistoryQuery(from: from, to: to, step: step, function: function)
                let plan = HistoryPlanner.plan(query, now: now.millisecondsSinceEpoch, settings: settings)
                if let points = plan.maximumPoints, points > Int64(settings.maxPoints) {
                    throw APIError.badRequest(
                        "the query asks for \(points) points per series, more than the limit of \(settings.maxPoints): use a step of at least "
                            + "\((to - from) / 1000 / Int64(settings.maxPoints) + 1) s or a shorter range")
                }
                let series = try await store.series(named: name).filter { stored in
                    filters.allSatisfy { filter in stored.key.labels.contains { $0.name == filter.name && $0.value == filter.value } }
                }
                guard !series.isEmpty else { throw APIError.notFound("no stored series named \(QueryParameters.shortened(name))\(filters.isEmpty ? "" : " with these labels")") }
                let reader = HistoryReader(store: store, settings: settings)
                var result: [(key: SeriesKey, points: [HistoryPoint])] = []
                var total = 0
                for item in series {
                    let points = try await reader.points(series: item.id, query: query, plan: plan)
                    total += points.count
                    if total > settings.maxPoints {
                        throw APIError.badRequest(
                            "the query returns more than \(settings.maxPoints) points: give a step (e.g. step=60), a shorter range or a label filter")
                    }
                    result.append((item.key, points))
                }
                return try jsonResponse(MetricHistoryDTO(name: name, query: query, plan: plan, series: result))
            },
            Route(.get, "/api/v1/history/status", .viewer, "The status headline fields (cpu, memory, disk, load, temperature) over time") { request, _ in
                let parameters = try QueryParameters(request, allowed: ["from", "to", "step"])
                let (store, settings) = try availableWithSettings()
                let now = context?.now() ?? .now()
                let (from, to) = try parameters.range(now: now, defaultSpan: 86_400)
                // Default step: about 720 points, a multiple of a minute.
                let step = try parameters.step() ?? max(60, ((to - from) / 1000 / 720 + 59) / 60 * 60)
                let query = HistoryQuery(from: from, to: to, step: step, function: .avg)
                let plan = HistoryPlanner.plan(query, now: now.millisecondsSinceEpoch, settings: settings)
                if let points = plan.maximumPoints, points > Int64(settings.maxPoints) {
                    throw APIError.badRequest("the query asks for \(points) points, more than the limit of \(settings.maxPoints): use a larger step")
                }
                let reader = HistoryReader(store: store, settings: settings)
                var byTime: [Int64: [String: Double]] = [:]
                for name in StatusPointDTO.metricNames {
                    guard let series = try await store.series(named: name).first(where: { $0.key.labels.isEmpty }) else { continue }
                    for point in try await reader.points(series: series.id, query: query, plan: plan) { byTime[point.milliseconds, default: [:]][name] = point.value }
                }
                let points = byTime.keys.sorted().map { StatusPointDTO(milliseconds: $0, values: byTime[$0] ?? [:]) }
                return try jsonResponse(StatusHistoryDTO(from: from, to: to, plan: plan, points: points))
            },
            Route(.get, "/api/v1/capacity", .viewer, "Capacity trend per filesystem and for memory: least-squares fit and projected date of 100 %") { request, _ in
                let parameters = try QueryParameters(request, allowed: ["window"])
                let window = try parameters.choice("window", ["7d", "30d"]) ?? "30d"
                let (store, settings) = try availableWithSettings()
                let now = (context?.now() ?? .now()).millisecondsSinceEpoch
                let from = now - (window == "7d" ? 7 : 30) * 86_400_000
                let trends = try await CapacityForecast.trends(store: store, settings: settings, from: from, to: now, now: now)
                return try jsonResponse(CapacityDTO(window: window, from: from, to: now, trends: trends))
            },
            Route(.get, "/api/v1/reports/{period}", .viewer, "Daily, weekly or monthly report: headline min/avg/p95/max, incidents, service availability, capacity") { request, requestContext in
                let name = try requestContext.pathParameter("period")
                let parameters = try QueryParameters(request, allowed: ["to", "date"])
                guard let period = PeriodReport.Period(rawValue: name) else {
                    throw APIError.notFound("no report \(QueryParameters.shortened(name)): use daily, weekly or monthly")
                }
                let (store, settings) = try availableWithSettings()
                let now = context?.now() ?? .now()
                let span: PeriodReport.Span
                if let text = parameters.text("date") {
                    guard let date = PeriodReport.CalendarDate(text) else {
                        throw QueryParameters.invalid(
                            "date: expected a calendar date YYYY-MM-DD (e.g. 2026-03-29) of the years \(PeriodReport.CalendarDate.acceptedYears.lowerBound) to "
                                + "\(PeriodReport.CalendarDate.acceptedYears.upperBound), got \"\(QueryParameters.shortened(text))\"")
                    }
                    guard parameters.text("to") == nil else { throw QueryParameters.invalid("give either date (a calendar period) or to (a rolling period), not both") }
                    span = .calendar(date)
                } else {
                    // `to` is within Timestamp.acceptedRange, so neither this nor the report's conversions can overflow.
                    span = .rolling(to: try parameters.time("to")?.millisecondsSinceEpoch ?? now.millisecondsSinceEpoch)
                }
                let report: PeriodReport
                do {
                    report = try await PeriodReport.build(
                        period: period, span: span, zone: (context?.reports ?? ReportSettings()).resolvedTimeZone, store: store, settings: settings,
                        incidents: alerts?.incidentStore, now: now.millisecondsSinceEpoch)
                } catch let error as PeriodReport.ReportError {
                    throw QueryParameters.invalid("date: \(error.message)")
                }
                return try jsonResponse(ReportDTO(report: report))
            },
        ]
    }

    private func available() throws -> HistoryStore {
        try availableWithSettings().0
    }

    private func availableWithSettings() throws -> (HistoryStore, HistorySettings) {
        guard let context, let store = context.store else {
            throw APIError(.serviceUnavailable, code: "history_unavailable", message: context?.unavailableReason ?? "history is not wired")
        }
        return (store, context.settings)
    }
}

func jsonResponse(_ value: some Encodable) throws -> Response {
    Response(
        status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"], body: ResponseBody(byteBuffer: try encode(value)))
}

// MARK: - Query parameters of the history routes

extension QueryParameters {
    /// `step`: whole seconds (`60`) or a duration (`5m`, `1h`), at least 1 s.
    func step() throws -> Int64? {
        guard let text = text("step") else { return nil }
        if let seconds = Int64(text), seconds >= 1, seconds <= 366 * 86_400 { return seconds }
        if Int64(text) == nil, let duration = Duration(parsing: text) {
            let seconds = duration.components.seconds
            if seconds >= 1, seconds <= 366 * 86_400, duration.components.attoseconds == 0 { return seconds }
        }
        throw Self.invalid("step: expected whole seconds between 1 and 31622400 (e.g. 60) or a duration such as 5m or 1h, got \"\(Self.shortened(text))\"")
    }

    func aggregate() throws -> AggregateFunction {
        guard let text = try choice("agg", AggregateFunction.allCases.map(\.rawValue)) else { return .avg }
        return AggregateFunction(rawValue: text) ?? .avg
    }

    /// `label=name=value`, repeatable; every one must match.
    func labels() throws -> [MetricLabel] {
        try all("label").map { text in
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw Self.invalid("label: expected name=value (e.g. label=mountpoint=/), got \"\(Self.shortened(text))\"")
            }
            return MetricLabel(String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
    }
}
