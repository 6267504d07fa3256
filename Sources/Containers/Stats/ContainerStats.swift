//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// `GET /containers/{id}/stats?stream=false` (the fields the agent uses), for cgroup v1 and v2 engines alike.
///
/// With `one-shot=true` the engine answers at once and leaves ``precpuStats`` empty (all zero): that first read has no
/// previous sample, and ``ContainerStatsMath/cpuPercent(current:previous:)`` gives nil for it.
public struct ContainerStats: Decodable, Sendable, Hashable {
    public struct CPUUsage: Decodable, Sendable, Hashable {
        /// Nanoseconds of CPU time used by the container since it started (all CPUs).
        public var totalUsage: UInt64
        /// Nanoseconds per CPU; cgroup v1 only (absent on cgroup v2).
        public var percpuUsage: [UInt64]?

        enum CodingKeys: String, CodingKey {
            case totalUsage = "total_usage", percpuUsage = "percpu_usage"
        }

        public init(totalUsage: UInt64, percpuUsage: [UInt64]? = nil) {
            self.totalUsage = totalUsage
            self.percpuUsage = percpuUsage
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            totalUsage = try container.decodeIfPresent(UInt64.self, forKey: .totalUsage) ?? 0
            percpuUsage = try container.decodeIfPresent([UInt64].self, forKey: .percpuUsage)
        }
    }

    /// One CPU sample: the container's CPU time and the host's at the same moment.
    public struct CPUStats: Decodable, Sendable, Hashable {
        public var cpuUsage: CPUUsage
        /// Nanoseconds of CPU time the whole host used (all CPUs) since boot; nil or 0 in an empty `precpu_stats`.
        public var systemCPUUsage: UInt64?
        /// CPUs online; nil or 0 on engines that do not report it (then the length of `percpu_usage` counts).
        public var onlineCPUs: Int?

        enum CodingKeys: String, CodingKey {
            case cpuUsage = "cpu_usage", systemCPUUsage = "system_cpu_usage", onlineCPUs = "online_cpus"
        }

        public init(cpuUsage: CPUUsage, systemCPUUsage: UInt64?, onlineCPUs: Int?) {
            self.cpuUsage = cpuUsage
            self.systemCPUUsage = systemCPUUsage
            self.onlineCPUs = onlineCPUs
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            cpuUsage = try container.decodeIfPresent(CPUUsage.self, forKey: .cpuUsage) ?? CPUUsage(totalUsage: 0)
            systemCPUUsage = try container.decodeIfPresent(UInt64.self, forKey: .systemCPUUsage)
            onlineCPUs = try container.decodeIfPresent(Int.self, forKey: .onlineCPUs)
        }
    }

    public struct MemoryStats: Decodable, Sendable, Hashable {
        /// Bytes charged to the container's cgroup, page cache included.
        public var usage: UInt64?
        /// Bytes: the cgroup's limit, or the host's memory when there is none.
        public var limit: UInt64?
        /// The cgroup's `memory.stat`: `total_inactive_file` etc. on cgroup v1, `inactive_file` etc. on cgroup v2.
        public var stats: [String: UInt64]

        enum CodingKeys: String, CodingKey {
            case usage, limit, stats
        }

        public init(usage: UInt64?, limit: UInt64?, stats: [String: UInt64]) {
            self.usage = usage
            self.limit = limit
            self.stats = stats
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            usage = try container.decodeIfPresent(UInt64.self, forKey: .usage)
            limit = try container.decodeIfPresent(UInt64.self, forKey: .limit)
            stats = try container.decodeIfPresent([String: UInt64].self, forKey: .stats) ?? [:]
        }
    }

    public struct NetworkStats: Decodable, Sendable, Hashable {
        public var rxBytes: UInt64
        public var txBytes: UInt64

        enum CodingKeys: String, CodingKey {
            case rxBytes = "rx_bytes", txBytes = "tx_bytes"
        }
    }

    public struct PidsStats: Decodable, Sendable, Hashable {
        public var current: UInt64?
        public var limit: UInt64?
    }

    /// RFC 3339 time of this sample.
    public var read: String?
    public var cpuStats: CPUStats
    /// The previous sample; empty (zero) on a one-shot read.
    public var precpuStats: CPUStats?
    public var memoryStats: MemoryStats
    /// Interface name → counters; absent for a container without network.
    public var networks: [String: NetworkStats]?
    public var pidsStats: PidsStats?

    enum CodingKeys: String, CodingKey {
        case read, cpuStats = "cpu_stats", precpuStats = "precpu_stats", memoryStats = "memory_stats", networks, pidsStats = "pids_stats"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        read = try container.decodeIfPresent(String.self, forKey: .read)
        cpuStats = try container.decodeIfPresent(CPUStats.self, forKey: .cpuStats) ?? CPUStats(cpuUsage: CPUUsage(totalUsage: 0), systemCPUUsage: nil, onlineCPUs: nil)
        precpuStats = try container.decodeIfPresent(CPUStats.self, forKey: .precpuStats)
        memoryStats = try container.decodeIfPresent(MemoryStats.self, forKey: .memoryStats) ?? MemoryStats(usage: nil, limit: nil, stats: [:])
        networks = try container.decodeIfPresent([String: NetworkStats].self, forKey: .networks)
        pidsStats = try container.decodeIfPresent(PidsStats.self, forKey: .pidsStats)
    }

    /// Bytes received plus sent on every interface; nil without network counters.
    public var networkBytes: UInt64? {
        guard let networks, !networks.isEmpty else { return nil }
        return networks.values.reduce(0) { $0 &+ $1.rxBytes &+ $1.txBytes }
    }

    /// Bytes the container sent on every interface; nil without network counters. Unlike received bytes, these do not
    /// move with broadcasts (ARP) on the bridge the container shares with others.
    public var sentBytes: UInt64? {
        guard let networks, !networks.isEmpty else { return nil }
        return networks.values.reduce(0) { $0 &+ $1.txBytes }
    }
}

/// The arithmetic of container statistics, as pure functions of stats documents.
public enum ContainerStatsMath {
    /// CPU use in percent of one CPU (200 = two CPUs busy), as `docker stats` computes it:
    /// `(Δ container CPU time / Δ host CPU time) × online CPUs × 100` between `previous` and `current`.
    ///
    /// - Returns: nil when there is no usable previous sample (nil, or an empty `precpu_stats` with no host CPU time: the
    ///   first one-shot read), when the host time did not advance, when the container's counter went backwards (it was
    ///   restarted), or when the number of CPUs is unknown. Never a made-up 0 and never a spike.
    public static func cpuPercent(current: ContainerStats.CPUStats, previous: ContainerStats.CPUStats?) -> Double? {
        guard let previous, let previousSystem = previous.systemCPUUsage, previousSystem > 0,
            let currentSystem = current.systemCPUUsage, currentSystem > previousSystem,
            current.cpuUsage.totalUsage >= previous.cpuUsage.totalUsage
        else { return nil }
        let cpus: Int
        if let online = current.onlineCPUs, online > 0 {
            cpus = online
        } else if let perCPU = current.cpuUsage.percpuUsage, !perCPU.isEmpty {
            cpus = perCPU.count
        } else {
            return nil
        }
        let containerDelta = Double(current.cpuUsage.totalUsage - previous.cpuUsage.totalUsage)
        let systemDelta = Double(currentSystem - previousSystem)
        return containerDelta / systemDelta * Double(cpus) * 100
    }

    /// ``cpuPercent(current:previous:)`` between the document's `cpu_stats` and its own `precpu_stats`.
    public static func cpuPercent(_ stats: ContainerStats) -> Double? {
        cpuPercent(current: stats.cpuStats, previous: stats.precpuStats)
    }

    /// Memory in use, bytes: usage minus the inactive file cache (which the kernel reclaims first), as `docker stats`
    /// shows it. The cache is `total_inactive_file` on cgroup v1 and `inactive_file` on cgroup v2; a cache larger than
    /// the usage (racy counters) leaves the usage as it is. Nil when the engine reports no usage (a stopped container).
    public static func memoryBytes(_ memory: ContainerStats.MemoryStats) -> UInt64? {
        guard let usage = memory.usage else { return nil }
        let inactive = memory.stats["total_inactive_file"] ?? memory.stats["inactive_file"] ?? 0
        return inactive <= usage ? usage - inactive : usage
    }

    /// The memory limit in bytes as the engine reports it (the host's memory when the container has none); nil when
    /// absent, 0, or a value that means "no limit" (``unlimited``).
    public static func memoryLimitBytes(_ memory: ContainerStats.MemoryStats) -> UInt64? {
        guard let limit = memory.limit, limit > 0, limit < unlimited else { return nil }
        return limit
    }

    /// The smallest value read as "no limit": cgroup v1 writes an unset limit as the largest page-aligned `Int64`
    /// (9223372036854771712 with 4 KiB pages, 9223372036854710272 with 64 KiB pages), and engines and tools pass
    /// `UInt64.max` (18446744073709551615) or `Int64.max` through; cgroup v2 says `max`. No machine has 4 EiB of memory.
    public static let unlimited: UInt64 = 1 << 62
}
