//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// Memory and swap from `/proc/meminfo`.
public struct MemoryCollector: Collector {
    public let descriptor = CollectorDescriptor(id: "memory", isCore: true, reads: [.proc("meminfo")])

    public init() {}

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let path = context.paths.proc("meminfo")
        let report = try MeminfoParser.report(try MeminfoParser.parse(try HostFile.read(path), file: path), file: path)
        return CollectorOutput(samples: Self.samples(report), report: .memory(report))
    }

    static func samples(_ report: MemoryReport) -> [MetricSample] {
        [
            MetricSample(MetricName.memoryTotalBytes, .gauge, Double(report.totalBytes), help: "Usable RAM (MemTotal)."),
            MetricSample(MetricName.memoryUsedBytes, .gauge, Double(report.usedBytes), help: "MemTotal minus MemAvailable."),
            MetricSample(
                MetricName.memoryAvailableBytes, .gauge, Double(report.availableBytes),
                help: "Memory available for new work without swapping (MemAvailable, or its estimate)."),
            MetricSample(MetricName.memoryUsagePercent, .gauge, report.usagePercent, help: "Percent of RAM in use: (total - available) / total."),
            MetricSample(MetricName.memorySwapTotalBytes, .gauge, Double(report.swapTotalBytes), help: "Total swap space."),
            MetricSample(MetricName.memorySwapFreeBytes, .gauge, Double(report.swapFreeBytes), help: "Unused swap space."),
        ]
    }
}
