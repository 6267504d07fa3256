//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// Memory and swap from `/proc/meminfo`.
public struct MemoryCollector: Collector {
    public let descriptor = CollectorDescriptor(id: "memory", isCore: true)

    public init() {}

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let path = context.paths.proc("meminfo")
        let report = try MeminfoParser.report(try MeminfoParser.parse(try HostFile.read(path), file: path), file: path)
        return CollectorOutput(samples: Self.samples(report), report: .memory(report))
    }

    static func samples(_ report: MemoryReport) -> [MetricSample] {
        [
            MetricSample("viworks_memory_total_bytes", .gauge, Double(report.totalBytes), help: "Usable RAM (MemTotal)."),
            MetricSample("viworks_memory_used_bytes", .gauge, Double(report.usedBytes), help: "MemTotal minus MemAvailable."),
            MetricSample(
                "viworks_memory_available_bytes", .gauge, Double(report.availableBytes),
                help: "Memory available for new work without swapping (MemAvailable, or its estimate)."),
            MetricSample("viworks_memory_usage_percent", .gauge, report.usagePercent, help: "Percent of RAM in use: (total - available) / total."),
            MetricSample("viworks_memory_swap_total_bytes", .gauge, Double(report.swapTotalBytes), help: "Total swap space."),
            MetricSample("viworks_memory_swap_free_bytes", .gauge, Double(report.swapFreeBytes), help: "Unused swap space."),
        ]
    }
}
