//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

extension ContainerReport {
    /// A report from what the engine says about the container.
    /// - Parameters:
    ///   - inspect: its inspect document (limits, OOM, exit code); nil when not read.
    ///   - stats: a one-shot stats document while it runs; nil otherwise.
    ///   - previousCPU: the container's CPU sample of the previous report, for ``cpuPercent``.
    public init(summary: ContainerSummary, inspect: ContainerInspect?, stats: ContainerStats?, previousCPU: ContainerStats.CPUStats?) {
        let sessionID = summary.labels[SessionLabels.sessionID]
        let limit = inspect?.hostConfig?.memory ?? 0
        let shares = inspect?.hostConfig?.cpuShares ?? 0
        self.init(
            id: summary.id, name: summary.name, image: summary.image, state: summary.state, status: summary.status,
            createdAt: Timestamp(seconds: summary.created, nanoseconds: 0), ports: summary.ports, sessionID: sessionID,
            username: summary.labels[SessionLabels.username],
            port: sessionID == nil ? nil : summary.ports.compactMap(\.publicPort).first,
            cpuPercent: stats.flatMap { ContainerStatsMath.cpuPercent(current: $0.cpuStats, previous: previousCPU) },
            memoryBytes: stats.flatMap { ContainerStatsMath.memoryBytes($0.memoryStats) },
            memoryLimitBytes: limit > 0 ? UInt64(limit) : nil, cpuShares: shares > 0 ? shares : nil,
            oomKilled: inspect?.state.oomKilled ?? false,
            exitCode: inspect.flatMap { $0.state.running ? nil : $0.state.exitCode })
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
