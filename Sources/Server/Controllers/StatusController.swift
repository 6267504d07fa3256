//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import FoundationEssentials
import Hummingbird
import NIOCore

/// The read-only monitoring routes: health, status, status-simple, system, collectors, metrics.
public struct StatusController: Sendable {
    let dependencies: APIDependencies
    let cache: ResponseCache

    public init(dependencies: APIDependencies) {
        self.dependencies = dependencies
        // The start time makes ETags unique per process: versions restart at 0 with every run.
        self.cache = ResponseCache(generation: UInt64(bitPattern: dependencies.startTimestamp.nanosecondsSinceEpoch))
    }

    /// The routes this controller declares; ``APIServer`` registers them.
    public var routes: [Route] {
        [
            Route(.get, "/api/v1/health", .public, "Agent health for load balancers and systemd-style checks") { request, _ in try health(request) },
            Route(.get, "/api/v1/status", .viewer, "Full status: system_health, services, containers, system_info, collectors") { request, _ in
                try await cached(request, route: "status", contentType: .json, make: encodeStatus)
            },
            Route(.get, "/api/v1/status-simple", .viewer, "Overall status and the headline percentages, for cheap polls") { request, _ in
                try await cached(request, route: "status-simple", contentType: .json, make: encodeSimpleStatus)
            },
            Route(.get, "/api/v1/system", .viewer, "System information alone (cpu, memory, network, system, disks, temperatures)") { request, _ in
                try await cached(request, route: "system", contentType: .json) { snapshot, _ in try encode(SystemInfoDTO(snapshot: snapshot, agentID: dependencies.agentID)) }
            },
            Route(.get, "/api/v1/collectors", .viewer, "Supervisor view of every collector") { request, _ in
                try await cached(request, route: "collectors", contentType: .json) { _, states in try encode(CollectorsDTO(states: states)) }
            },
            Route(.get, "/api/v1/services", .viewer, "Every tracked service: state, main PID, unit, CPU, memory, probe") { request, _ in
                try await cached(request, route: "services", contentType: .json) { snapshot, _ in try encode(ServicesDTO(snapshot: snapshot)) }
            },
            Route(.get, "/api/v1/services/{name}", .viewer, "One tracked service") { request, context in
                let name = try context.pathParameter("name")
                _ = try QueryParameters(request, allowed: [])
                guard let service = dependencies.snapshots.current.services?.services.first(where: { $0.name == name }) else {
                    let known = dependencies.snapshots.current.services?.services.map(\.name) ?? []
                    throw APIError.notFound("no service named \(APIErrorMiddleware<BasicRequestContext>.shortened(name))" + (known.isEmpty ? "" : "; known: \(known.joined(separator: ", "))"))
                }
                return Response(
                    status: .ok, headers: [.contentType: ContentType.json.rawValue, .cacheControl: "no-cache"],
                    body: ResponseBody(byteBuffer: try encode(ServiceDTO(service: service))))
            },
            Route(.get, "/api/v1/processes", .viewer, "Process counts by state and the top processes by CPU and by memory") { request, _ in
                _ = try QueryParameters(request, allowed: [])
                guard dependencies.snapshots.current.processes != nil else {
                    throw APIError(
                        .serviceUnavailable, code: "not_collected",
                        message: "the processes collector has not reported yet (it may be disabled: [collectors.processes] enabled)")
                }
                return try await cached(request, route: "processes", contentType: .json) { snapshot, _ in
                    try encode(ProcessesDTO(timestamp: snapshot.batches["processes"]?.timestamp ?? .now(), report: snapshot.processes ?? ProcessesReport(total: 0, threads: 0, byState: [:], topByCPU: [], topByMemory: [])))
                }
            },
            Route(.get, "/metrics", .viewer, "Prometheus text exposition 0.0.4 of everything collected and of the agent itself") { request, _ in
                try await cached(request, route: "metrics", contentType: .prometheus) { snapshot, states in
                    let statistics = await dependencies.busStatistics()
                    return ByteBuffer(bytes: MetricsPage.render(snapshot: snapshot, states: states, bus: statistics, dependencies: dependencies))
                }
            },
        ]
    }

    // MARK: - Health

    private func health(_ request: Request) throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let snapshots = dependencies.snapshots
        let health = AgentHealth.evaluate(collectors: dependencies.collectorStates(), firstCollectionDone: snapshots.isReady, storage: dependencies.storage)
        let code: HTTPResponse.Status = health.isHealthy ? .ok : .serviceUnavailable
        let dto = HealthDTO(
            health: health, timestamp: .now(), version: dependencies.version,
            uptime: snapshots.current.uptime.flatMap { wholeSeconds($0.uptimeSeconds) },
            agentUptimeSeconds: rounded(dependencies.monotonicSeconds() - dependencies.startedAt, 3)
        )
        return Response(
            status: code, headers: [.contentType: ContentType.json.rawValue, .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: try encode(dto))
        )
    }

    // MARK: - Caching

    enum ContentType: String {
        case json = "application/json; charset=utf-8"
        case prometheus = "text/plain; version=0.0.4; charset=utf-8"
    }

    /// The `/api/v1/status` document of a snapshot.
    func encodeStatus(_ snapshot: AgentSnapshot, _ collectors: [ChildState]) throws -> ByteBuffer {
        try encode(
            StatusDTO(
                snapshot: snapshot, collectors: collectors, plugins: dependencies.plugins?.plugins() ?? [],
                alerts: dependencies.alerts?.summary() ?? AlertSummary(enabled: false), storage: dependencies.storage,
                containers: dependencies.containers?.view, outputs: dependencies.outputs?.all ?? [], agentID: dependencies.agentID))
    }

    /// The current `/api/v1/status` body, from the cache (the live stream sends the very bytes a poll gets).
    func statusBody() async throws -> ByteBuffer {
        try await entry(route: "status", make: encodeStatus).body
    }

    /// The `/api/v1/status-simple` document of a snapshot.
    func encodeSimpleStatus(_ snapshot: AgentSnapshot, _ collectors: [ChildState]) throws -> ByteBuffer {
        try encode(
            SimpleStatusDTO(
                status: SimpleStatus.evaluate(
                    snapshot: snapshot, collectors: collectors, storage: dependencies.storage, thresholds: dependencies.headlineThresholds,
                    outputs: dependencies.outputs?.all ?? [])))
    }

    /// The current `/api/v1/status-simple` body, from the cache (the live stream's `status-simple` event).
    func simpleStatusBody() async throws -> ByteBuffer {
        try await entry(route: "status-simple", make: encodeSimpleStatus).body
    }

    /// Serves `route` from the cache, or encodes it once for the current state; answers 304 to a matching `If-None-Match`.
    private func cached(
        _ request: Request, route: String, contentType: ContentType, make: (AgentSnapshot, [ChildState]) async throws -> ByteBuffer
    ) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let entry = try await entry(route: route, make: make)
        var headers: HTTPFields = [.eTag: entry.etag, .cacheControl: "no-cache"]
        if let condition = request.headers[.ifNoneMatch], Self.matches(condition, etag: entry.etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = contentType.rawValue
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: entry.body))
    }

    /// The cache entry of `route` for the current state, encoded with `make` on a miss.
    private func entry(route: String, make: (AgentSnapshot, [ChildState]) async throws -> ByteBuffer) async throws -> ResponseCache.Entry {
        // A cache hit costs a few atomic loads and one lock: the states are read only to encode a new body.
        let collectors = dependencies.collectorGeneration.map { Int(truncatingIfNeeded: $0()) } ?? Self.fingerprint(dependencies.collectorStates())
        let plugins = dependencies.plugins.map { Int(truncatingIfNeeded: $0.generation()) } ?? 0
        let alerts = dependencies.alerts.map { Int(truncatingIfNeeded: $0.generation) } ?? 0
        let storage = dependencies.storage.map { Int(truncatingIfNeeded: $0.generation) } ?? 0
        let containers = dependencies.containers.map { Int(truncatingIfNeeded: $0.generation) } ?? 0
        let outputs = dependencies.outputs.map { Int(truncatingIfNeeded: $0.generation) } ?? 0
        let key = ResponseCache.Key(
            version: dependencies.snapshots.version,
            fingerprint: collectors &+ plugins &* 31 &+ alerts &* 131 &+ storage &* 1031 &+ containers &* 10_007 &+ outputs &* 100_003)
        return try await cache.entry(route, key: key) { try await make(dependencies.snapshots.current, dependencies.collectorStates()) }
    }

    /// `If-None-Match` uses weak comparison (RFC 9110 §13.1.2): `W/` prefixes are ignored, `*` matches.
    static func matches(_ header: String, etag: String) -> Bool {
        for candidate in header.split(separator: ",") {
            var tag = candidate.trimmingASCIIWhitespace()
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            if tag == etag { return true }
        }
        return false
    }

    /// Changes whenever what the API says about the collectors changes, apart from their collection times.
    static func fingerprint(_ states: [ChildState]) -> Int {
        var hasher = Hasher()
        for state in states {
            hasher.combine(state.name)
            hasher.combine(state.status)
            hasher.combine(state.restarts)
            hasher.combine(state.failures)
            hasher.combine(state.collections)
        }
        return hasher.finalize()
    }
}

/// Encodes with the API's JSON settings: no escaped slashes, keys sorted so equal states give byte-identical bodies.
func encode(_ value: some Encodable) throws -> ByteBuffer {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    return ByteBuffer(bytes: try encoder.encode(value))
}
