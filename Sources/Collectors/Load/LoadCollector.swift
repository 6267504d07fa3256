//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import Synchronization

/// Load averages and task counts from `/proc/loadavg`.
public struct LoadCollector: Collector {
    public let descriptor = CollectorDescriptor(id: "load", isCore: true, reads: [.proc("loadavg"), .proc("uptime"), .proc("stat")])

    public init() {}

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let path = context.paths.proc("loadavg")
        let report = try LoadavgParser.parse(try HostFile.read(path, limit: 4096), file: path)
        let samples = [
            MetricSample(MetricName.load1, .gauge, report.oneMinute, help: "1-minute load average."),
            MetricSample(MetricName.load5, .gauge, report.fiveMinutes, help: "5-minute load average."),
            MetricSample(MetricName.load15, .gauge, report.fifteenMinutes, help: "15-minute load average."),
            MetricSample(MetricName.loadRunnableTasks, .gauge, Double(report.runnableTasks), help: "Currently runnable scheduling entities."),
            MetricSample(MetricName.loadTasks, .gauge, Double(report.totalTasks), help: "Scheduling entities (tasks) on the system."),
        ]
        return CollectorOutput(samples: samples, report: .load(report))
    }
}

/// Uptime from `/proc/uptime` and boot time from `btime` in `/proc/stat`.
///
/// The boot time is fixed for a boot, so `/proc/stat` is read for it only until it is known.
public final class UptimeCollector: Collector {
    public let descriptor = CollectorDescriptor(id: "uptime", isCore: true, reads: [.proc("uptime"), .proc("stat")])
    private let bootTime = Mutex<Int64?>(nil)

    public init() {}

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let path = context.paths.proc("uptime")
        let report = try UptimeParser.parse(try HostFile.read(path, limit: 4096), file: path)
        var samples = [MetricSample(MetricName.uptimeSeconds, .gauge, report.uptimeSeconds, help: "Seconds since boot.")]
        var btime = bootTime.withLock { $0 }
        if btime == nil {
            btime = HostFile.readIfPresent(context.paths.proc("stat")).flatMap(ProcStatParser.bootTime)
            bootTime.withLock { $0 = btime }
        }
        if let btime {
            samples.append(MetricSample(MetricName.bootTimeSeconds, .gauge, Double(btime), help: "Boot time in seconds since the Unix epoch."))
        }
        return CollectorOutput(samples: samples, report: .uptime(report))
    }
}
