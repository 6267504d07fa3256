//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import Logging
import Synchronization

/// Pressure stall information (PSI) from `/proc/pressure/{cpu,memory,io}`, like node_exporter's `pressure`
/// collector.
///
/// Samples: `viworks_pressure_<resource>_waiting_seconds_total` (the `some` line: at least one task stalled)
/// and `viworks_pressure_<resource>_stalled_seconds_total` (the `full` line: every non-idle task stalled at
/// once), counters in seconds; and `viworks_pressure_avg_percent{resource,kind,window}`, the kernel's
/// 10 s/60 s/300 s averages. A line the kernel does not write (`full` in `cpu` before Linux 5.13) gives no
/// sample. A kernel without PSI (before 4.20, `CONFIG_PSI=n`, or booted with `psi=0`, where reading
/// gives EOPNOTSUPP) has nothing to report: ``CollectorError/noData``, logged once, never a failure.
public final class PressureCollector: Collector {
    public let descriptor = CollectorDescriptor(
        id: "pressure", isCore: false, section: PressureReport.self, reads: ["cpu", "memory", "io"].map { .proc("pressure/" + $0) })
    /// The resources, in the order of their samples and of the API.
    public static let resources = ["cpu", "memory", "io"]
    private let toldUnsupported = Mutex(false)

    public init() {}

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        var parsed: [String: PressureResource] = [:]
        var firstError: HostFileError?
        for resource in Self.resources {
            do {
                parsed[resource] = PressureParser.parse(try HostFile.read(context.paths.proc("pressure/" + resource), limit: 4096))
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        guard !parsed.isEmpty else {
            let reason = "pressure stall information is not supported by this kernel (\(firstError.map { "\($0)" } ?? "no file"))"
            let first = toldUnsupported.withLock { told in
                defer { told = true }
                return !told
            }
            if first { context.logger.info("pressure: not supported", metadata: ["reason": "\(reason)"]) }
            throw CollectorError.noData(reason)
        }
        let report = PressureReport(cpu: parsed["cpu"], memory: parsed["memory"], io: parsed["io"])
        return CollectorOutput(samples: Self.samples(report), report: .section(report))
    }

    static func samples(_ report: PressureReport) -> [MetricSample] {
        var samples: [MetricSample] = []
        let resources = [("cpu", report.cpu), ("memory", report.memory), ("io", report.io)]
        for (name, resource) in resources {
            guard let resource else { continue }
            if let some = resource.some {
                samples.append(
                    MetricSample(
                        MetricName.pressureWaitingSecondsTotal(name), .counter, some.totalSeconds,
                        help: "Total time in seconds that at least one task waited for \(name) (PSI some)."))
            }
            if let full = resource.full {
                samples.append(
                    MetricSample(
                        MetricName.pressureStalledSecondsTotal(name), .counter, full.totalSeconds,
                        help: "Total time in seconds that all non-idle tasks were stalled on \(name) at once (PSI full)."))
            }
        }
        for (name, resource) in resources {
            guard let resource else { continue }
            for (kind, line) in [("some", resource.some), ("full", resource.full)] {
                guard let line else { continue }
                for (window, value) in [("10s", line.avg10), ("60s", line.avg60), ("300s", line.avg300)] {
                    samples.append(
                        MetricSample(
                            MetricName.pressureAvgPercent, .gauge, value,
                            labels: [MetricLabel("resource", name), MetricLabel("kind", kind), MetricLabel("window", window)],
                            help: "Share of wall time in percent that tasks were stalled on the resource (kind some: at least one task; full: all non-idle tasks), averaged by the kernel over the window."))
                }
            }
        }
        return samples
    }
}
