//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import FoundationEssentials
public import Hummingbird

/// `GET /api/v1/metrics`, `GET /api/v1/metrics/{name}/history`, `GET /api/v1/history/status` and
/// `GET /api/v1/reports/{period}`. Not cached: they depend on their query.
public struct HistoryController: Sendable {
    let context: HistoryContext?
    let alerts: AlertEngine?

    public init(context: HistoryContext?, alerts: AlertEngine?) {
        self.context = context
        self.alerts = alerts
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.get("/api/v1/metrics") { request, _ in
            let query = try QueryParameters(request, allowed: ["name"])
            let store = try available()
            return try jsonResponse(SeriesListDTO(series: try await store.series(named: query.text("name"))))
        }
        router.get("/api/v1/metrics/{name}/history") { request, requestContext in
            let name = requestContext.parameters.get("name") ?? ""
            let (store, settings) = try availableWithSettings()
            let parameters = try QueryParameters(request, allowed: ["from", "to", "step", "agg", "label"])
            let now = context?.now() ?? .now()
            let (from, to) = try parameters.range(now: now, defaultSpan: 3600)
            let step = try parameters.step()
            let function = try parameters.aggregate()
            let filters = try parameters.labels()
            let query = HistoryQuery(from: from, to: to, step: step, function: function)
            let plan = HistoryPlanner.plan(query, now: now.nanosecondsSinceEpoch / 1_000_000, settings: settings)
            if let points = plan.maximumPoints, points > Int64(settings.maxPoints) {
                throw APIError.badRequest(
                    "the query asks for \(points) points per series, more than the limit of \(settings.maxPoints): use a step of at least "
                        + "\((to - from) / 1000 / Int64(settings.maxPoints) + 1) s or a shorter range")
            }
            let series = try await store.series(named: name).filter { stored in
                filters.allSatisfy { filter in stored.key.labels.contains { $0.name == filter.name && $0.value == filter.value } }
            }
            guard !series.isEmpty else { throw APIError.notFound("no stored series named \(name)\(filters.isEmpty ? "" : " with these labels")") }
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
        }
        router.get("/api/v1/history/status") { request, _ in
            let (store, settings) = try availableWithSettings()
            let parameters = try QueryParameters(request, allowed: ["from", "to", "step"])
            let now = context?.now() ?? .now()
            let (from, to) = try parameters.range(now: now, defaultSpan: 86_400)
            // Default step: about 720 points, a multiple of a minute.
            let step = try parameters.step() ?? max(60, ((to - from) / 1000 / 720 + 59) / 60 * 60)
            let query = HistoryQuery(from: from, to: to, step: step, function: .avg)
            let plan = HistoryPlanner.plan(query, now: now.nanosecondsSinceEpoch / 1_000_000, settings: settings)
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
        }
        router.get("/api/v1/reports/{period}") { request, requestContext in
            let period = requestContext.parameters.get("period") ?? ""
            let spans: [String: Int64] = ["daily": 86_400, "weekly": 7 * 86_400, "monthly": 30 * 86_400]
            guard let span = spans[period] else { throw APIError.notFound("no report \(period): use daily, weekly or monthly") }
            let (store, settings) = try availableWithSettings()
            let parameters = try QueryParameters(request, allowed: ["to"])
            let now = context?.now() ?? .now()
            let to = try parameters.time("to") ?? now.nanosecondsSinceEpoch / 1_000_000
            let from = to - span * 1000
            let report = try await ReportBuilder(store: store, settings: settings, incidents: alerts?.incidentStore).build(
                period: period, from: from, to: to)
            return try jsonResponse(report)
        }
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

/// `GET /api/v1/alerts` and `GET /api/v1/incidents`.
public struct AlertsController: Sendable {
    let alerts: AlertEngine?
    let now: @Sendable () -> Timestamp

    public init(alerts: AlertEngine?, now: @escaping @Sendable () -> Timestamp = { .now() }) {
        self.alerts = alerts
        self.now = now
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.get("/api/v1/alerts") { request, _ in
            _ = try QueryParameters(request, allowed: [])
            return try jsonResponse(AlertsDTO(summary: alerts?.summary() ?? AlertSummary(enabled: false), alerts: alerts?.active() ?? []))
        }
        router.get("/api/v1/incidents") { request, _ in
            let parameters = try QueryParameters(request, allowed: ["from", "to", "limit"])
            let current = now()
            let (from, to) = try parameters.range(now: current, defaultSpan: 7 * 86_400)
            let limit = try parameters.integer("limit", in: 1...10_000) ?? 1000
            let fromTime = Timestamp(nanosecondsSinceEpoch: from * 1_000_000)
            let toTime = Timestamp(nanosecondsSinceEpoch: to * 1_000_000)
            let incidents = try await alerts?.incidentStore.incidents(from: fromTime, to: toTime, limit: limit) ?? []
            return try jsonResponse(IncidentsDTO(from: fromTime, to: toTime, incidents: incidents, now: current))
        }
    }
}

func jsonResponse(_ value: some Encodable) throws -> Response {
    Response(
        status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"], body: ResponseBody(byteBuffer: try encode(value)))
}

// MARK: - Query parameters

/// The query string of a history route, checked: unknown or repeated parameters, and bad values, are 400s that
/// name the parameter.
struct QueryParameters {
    var values: [(String, String)]

    init(_ request: Request, allowed: Set<String>) throws {
        values = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        for (name, _) in values where !allowed.contains(name) {
            let list = allowed.sorted().joined(separator: ", ")
            throw APIError.badRequest("unknown query parameter '\(name)'" + (list.isEmpty ? ": this route takes none" : " (allowed: \(list))"))
        }
        var seen: Set<String> = []
        for (name, _) in values where name != "label" {
            guard seen.insert(name).inserted else { throw APIError.badRequest("query parameter '\(name)' is given twice") }
        }
    }

    func text(_ name: String) -> String? { values.first { $0.0 == name }?.1 }

    /// RFC 3339 or Unix seconds (integer or decimal), as milliseconds since the epoch.
    func time(_ name: String) throws -> Int64? {
        guard let text = text(name) else { return nil }
        if let timestamp = Timestamp(rfc3339: text) { return floorDiv(timestamp.nanosecondsSinceEpoch, 1_000_000) }
        if let seconds = Double(text), seconds.isFinite, abs(seconds) < 1e11, !text.contains("e"), !text.contains("E") {
            return Int64((seconds * 1000).rounded(.down))
        }
        throw APIError.badRequest("\(name): expected an RFC 3339 time (2025-01-31T12:00:00Z) or Unix seconds, got \"\(text.prefix(64))\"")
    }

    /// `from` and `to` (default: `to` now, `from` `defaultSpan` seconds before `to`); `from` must not be after `to`.
    func range(now: Timestamp, defaultSpan: Int64) throws -> (Int64, Int64) {
        let to = try time("to") ?? floorDiv(now.nanosecondsSinceEpoch, 1_000_000)
        let from = try time("from") ?? to - defaultSpan * 1000
        guard from <= to else { throw APIError.badRequest("from (\(text("from") ?? "")) is after to (\(text("to") ?? "now"))") }
        return (from, to)
    }

    /// `step`: whole seconds (`60`) or a duration (`5m`, `1h`), at least 1 s.
    func step() throws -> Int64? {
        guard let text = text("step") else { return nil }
        if let seconds = Int64(text), seconds >= 1, seconds <= 366 * 86_400 { return seconds }
        if Int64(text) == nil, let duration = ConfigLoader.parseDuration(text) {
            let seconds = duration.components.seconds
            if seconds >= 1, seconds <= 366 * 86_400, duration.components.attoseconds == 0 { return seconds }
        }
        throw APIError.badRequest("step: expected whole seconds between 1 and 31622400 (e.g. 60) or a duration such as 5m or 1h, got \"\(text.prefix(64))\"")
    }

    func aggregate() throws -> AggregateFunction {
        guard let text = text("agg") else { return .avg }
        guard let function = AggregateFunction(rawValue: text) else {
            throw APIError.badRequest("agg: expected one of \(AggregateFunction.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text.prefix(64))\"")
        }
        return function
    }

    /// `label=name=value`, repeatable; every one must match.
    func labels() throws -> [MetricLabel] {
        try values.filter { $0.0 == "label" }.map { _, text in
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw APIError.badRequest("label: expected name=value (e.g. label=mountpoint=/), got \"\(text.prefix(64))\"")
            }
            return MetricLabel(String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = text(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badRequest("\(name): expected an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text.prefix(64))\"")
        }
        return value
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
