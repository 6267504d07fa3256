//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The `viworks_container_*` series of `/metrics`, made from a ``ContainersView``: each container's series carry the
/// labels `id`, `name` and, for a session's container, `session_id` and `username`; they are made from the last
/// collection only, so a removed container's series are gone from the next page (session churn does not grow the
/// page).
public enum ContainerMetrics {
    /// - `viworks_container_engine_up`: 1 when the engine is available, 0 when unavailable; absent when disabled.
    /// - `viworks_container_sessions{status}`: sessions holding a container, by status (with a session manager).
    /// - per container: `viworks_container_up` (1 while running), `viworks_container_oom_killed`,
    ///   `viworks_container_cpu_percent` (percent of one CPU since the previous collection; absent on the first),
    ///   `viworks_container_memory_bytes` (usage minus inactive file cache; absent when stopped),
    ///   `viworks_container_memory_limit_bytes` (absent without a limit).
    public static func samples(_ view: ContainersView) -> [MetricSample] {
        var samples: [MetricSample] = []
        if view.engine.status != .disabled {
            samples.append(
                MetricSample(
                    MetricName.containerEngineUp, .gauge, view.engine.status == .available ? 1 : 0,
                    help: "1 when the container engine answers, 0 when it is unavailable."))
        }
        if let sessions = view.sessions {
            for status in SessionStatus.allCases where status.holdsContainer {
                samples.append(
                    MetricSample(
                        MetricName.containerSessions, .gauge, Double(sessions[status] ?? 0), labels: [MetricLabel("status", status.rawValue)],
                        help: "User sessions that hold a container, by status."))
            }
        }
        for container in view.containers {
            var labels = [MetricLabel("id", container.id), MetricLabel("name", container.name)]
            if let sessionID = container.sessionID { labels.append(MetricLabel("session_id", sessionID)) }
            if let username = container.username { labels.append(MetricLabel("username", username)) }
            samples.append(
                MetricSample(MetricName.containerUp, .gauge, container.state == "running" ? 1 : 0, labels: labels, help: "1 while the container runs."))
            samples.append(
                MetricSample(
                    MetricName.containerOomKilled, .gauge, container.oomKilled ? 1 : 0, labels: labels,
                    help: "1 when the container's last run was killed for exceeding its memory limit."))
            if let percent = container.cpuPercent {
                samples.append(
                    MetricSample(
                        MetricName.containerCpuPercent, .gauge, percent, labels: labels,
                        help: "CPU use of the container since the previous collection, in percent of one CPU."))
            }
            if let bytes = container.memoryBytes {
                samples.append(
                    MetricSample(
                        MetricName.containerMemoryBytes, .gauge, Double(bytes), labels: labels,
                        help: "Memory the container uses, bytes: usage minus the inactive file cache."))
            }
            if let limit = container.memoryLimitBytes {
                samples.append(
                    MetricSample(MetricName.containerMemoryLimitBytes, .gauge, Double(limit), labels: labels, help: "The container's memory limit, bytes."))
            }
        }
        return samples
    }
}
