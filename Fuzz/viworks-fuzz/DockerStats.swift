//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import FoundationEssentials

/// The Docker Engine API documents the agent decodes (`GET /containers/{id}/stats`, `/containers/json`,
/// `/containers/{id}/json`) as DockerEngine decodes them, then the stats arithmetic.
///
/// Invariants: a CPU percentage is finite and not negative; memory in use never exceeds the usage reported; a memory
/// limit is below ``ContainerStatsMath/unlimited``.
struct DockerStatsTarget: FuzzTarget {
    func run(_ input: UnsafeRawBufferPointer) {
        let data = Data(input)
        let decoder = JSONDecoder()
        if let stats = try? decoder.decode(ContainerStats.self, from: data) {
            if let percent = ContainerStatsMath.cpuPercent(stats), !percent.isFinite || percent < 0 {
                fatalError("CPU \(percent) %")
            }
            if let previous = stats.precpuStats, let percent = ContainerStatsMath.cpuPercent(current: previous, previous: stats.cpuStats),
                !percent.isFinite || percent < 0
            {
                fatalError("CPU \(percent) % (samples swapped)")
            }
            if let used = ContainerStatsMath.memoryBytes(stats.memoryStats), let usage = stats.memoryStats.usage, used > usage {
                fatalError("memory in use \(used) above the usage \(usage)")
            }
            if let limit = ContainerStatsMath.memoryLimitBytes(stats.memoryStats), limit >= ContainerStatsMath.unlimited {
                fatalError("memory limit \(limit)")
            }
            _ = stats.networkBytes
            _ = stats.sentBytes
        }
        _ = try? decoder.decode([ContainerSummary].self, from: data)
        _ = try? decoder.decode(ContainerInspect.self, from: data)
    }
}
