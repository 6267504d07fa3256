//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// One container as `/api/v1/status` lists it under `containers`: `id, name, image, state, status, created_at, ports,
/// session_id, username, port, cpu_percent, memory_bytes, memory_limit_bytes, cpu_shares, oom_killed, exit_code`, with
/// `null` for what is not known (a container that is not a session has no `session_id`; the first sample of a
/// container has no `cpu_percent`).
public struct ContainerReport: Sendable, Hashable, Encodable {
    /// 64 hex digits.
    public var id: String
    /// Without the leading `/`.
    public var name: String
    public var image: String
    /// The engine's state: `created`, `running`, `exited`, …
    public var state: String
    /// The engine's human text: `Up 3 minutes`.
    public var status: String
    public var createdAt: Timestamp
    public var ports: [ContainerPort]
    public var sessionID: String?
    public var username: String?
    /// The session's host port.
    public var port: Int?
    /// Percent of one CPU since the previous sample; nil on the first. JSON rounds it to two decimals.
    public var cpuPercent: Double?
    /// Usage minus inactive file cache, bytes.
    public var memoryBytes: UInt64?
    public var memoryLimitBytes: UInt64?
    public var cpuShares: Int?
    public var oomKilled: Bool
    public var exitCode: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, name, image, state, status, createdAt = "created_at", ports, sessionID = "session_id", username, port, cpuPercent = "cpu_percent"
        case memoryBytes = "memory_bytes", memoryLimitBytes = "memory_limit_bytes", cpuShares = "cpu_shares", oomKilled = "oom_killed"
        case exitCode = "exit_code"
    }

    /// The JSON names, in the order they are written.
    public static let jsonFields: [String] = CodingKeys.allCases.map(\.rawValue)

    /// A report from what the engine says about the container.
    /// - Parameters:
    ///   - inspect: its inspect document (limits, OOM, exit code); nil when not read.
    ///   - stats: a one-shot stats document while it runs; nil otherwise.
    ///   - previousCPU: the container's CPU sample of the previous report, for ``cpuPercent``.
    public init(summary: ContainerSummary, inspect: ContainerInspect?, stats: ContainerStats?, previousCPU: ContainerStats.CPUStats?) {
        id = summary.id
        name = summary.name
        image = summary.image
        state = summary.state
        status = summary.status
        createdAt = Timestamp(seconds: summary.created, nanoseconds: 0)
        ports = summary.ports
        sessionID = summary.labels[SessionLabels.sessionID]
        username = summary.labels[SessionLabels.username]
        port = sessionID == nil ? nil : summary.ports.compactMap(\.publicPort).first
        cpuPercent = stats.flatMap { ContainerStatsMath.cpuPercent(current: $0.cpuStats, previous: previousCPU) }
        memoryBytes = stats.flatMap { ContainerStatsMath.memoryBytes($0.memoryStats) }
        let limit = inspect?.hostConfig?.memory ?? 0
        memoryLimitBytes = limit > 0 ? UInt64(limit) : nil
        let shares = inspect?.hostConfig?.cpuShares ?? 0
        cpuShares = shares > 0 ? shares : nil
        oomKilled = inspect?.state.oomKilled ?? false
        exitCode = inspect.flatMap { $0.state.running ? nil : $0.state.exitCode }
    }

    /// A port as the API writes it, in its own snake_case: `{ip, private_port, public_port, type}` (`ip` and
    /// `public_port` null when the port is only exposed).
    struct PortJSON: Encodable {
        var port: ContainerPort

        enum CodingKeys: String, CodingKey {
            case ip, privatePort = "private_port", publicPort = "public_port", type
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(port.ip, forKey: .ip)
            try container.encode(port.privatePort, forKey: .privatePort)
            try container.encode(port.publicPort, forKey: .publicPort)
            try container.encode(port.type, forKey: .type)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(image, forKey: .image)
        try container.encode(state, forKey: .state)
        try container.encode(status, forKey: .status)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(ports.map(PortJSON.init), forKey: .ports)
        try container.encode(sessionID, forKey: .sessionID)
        try container.encode(username, forKey: .username)
        try container.encode(port, forKey: .port)
        // Two decimals, as every percentage of status.
        try container.encode(cpuPercent.map { ($0 * 100).rounded() / 100 }, forKey: .cpuPercent)
        try container.encode(memoryBytes, forKey: .memoryBytes)
        try container.encode(memoryLimitBytes, forKey: .memoryLimitBytes)
        try container.encode(cpuShares, forKey: .cpuShares)
        try container.encode(oomKilled, forKey: .oomKilled)
        try container.encode(exitCode, forKey: .exitCode)
    }
}

/// Reads the containers for status: lists them (this agent's, or all with `show_all`), inspects each and takes a
/// one-shot stats sample of the running ones, keeping each container's previous CPU sample for the next call. Samples
/// of containers that are gone are dropped, so memory does not grow with session churn.
public actor ContainerReporter {
    private let engine: DockerEngine
    private var previous: [String: ContainerStats.CPUStats] = [:]

    public init(engine: DockerEngine) {
        self.engine = engine
    }

    /// - Parameter labels: `key=value` filters (this agent's label), or empty for every container.
    /// - Throws: ``ContainerEngineError`` when the engine cannot be listed; a container that fails to inspect or
    ///   sample is reported without those values.
    public func reports(labels: [String]) async throws -> [ContainerReport] {
        let summaries = try await engine.listContainers(labels: labels, all: true)
        let engine = self.engine
        // A one-shot stats sample can take up to a second (the engine's collection tick): all containers at once.
        let details = await withTaskGroup(of: (String, ContainerInspect?, ContainerStats?).self) { group in
            for summary in summaries {
                group.addTask {
                    async let inspect = try? engine.inspectContainer(summary.id)
                    async let stats = summary.state == "running" ? try? engine.stats(summary.id) : nil
                    return (summary.id, await inspect, await stats)
                }
            }
            return await group.reduce(into: [String: (ContainerInspect?, ContainerStats?)]()) { $0[$1.0] = ($1.1, $1.2) }
        }
        var reports: [ContainerReport] = []
        var seen: [String: ContainerStats.CPUStats] = [:]
        for summary in summaries {
            let (inspect, stats) = details[summary.id] ?? (nil, nil)
            reports.append(ContainerReport(summary: summary, inspect: inspect, stats: stats, previousCPU: previous[summary.id]))
            if let stats { seen[summary.id] = stats.cpuStats }
        }
        // Containers that are gone drop out: the memory does not grow with session churn.
        previous = seen
        return reports
    }
}
