//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import AgentRuntime

/// CPU usage from `/proc/stat` deltas, plus brand and frequency.
///
/// Stateful: keeps the previous `/proc/stat` reading as the baseline of the next interval, so the
/// first collection reports nil usage.
public actor CPUCollector: Collector {
    public nonisolated let descriptor = CollectorDescriptor(
        id: "cpu", isCore: true,
        reads: [.proc("stat"), .proc("cpuinfo"), .sys("devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")])

    private var previous: ProcStat?
    private var brand: String?
    /// `cpu MHz` from cpuinfo and when it was read (monotonic seconds), for hosts without cpufreq.
    private var cpuinfoFrequency: (mhz: Double?, readAt: Double)?
    private let ticksPerSecond: Double

    /// Without cpufreq, `cpu MHz` comes from /proc/cpuinfo, which the kernel computes for every CPU at read time (an
    /// interrupt to each CPU on x86) and which is constant on most VMs: it is re-read at most this often.
    public static let cpuinfoFrequencyLifetime = 60.0

    public init() {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        self.ticksPerSecond = ticks > 0 ? Double(ticks) : 100
    }

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let statPath = context.paths.proc("stat")
        let stat = try ProcStatParser.parse(try HostFile.read(statPath), file: statPath)
        let usage = Self.usage(previous: previous, current: stat)
        previous = stat

        var frequencyMHz: Double?
        if let khz = HostFile.readLine(context.paths.sys("devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"))
            .flatMap(parseDouble)
        {
            frequencyMHz = roundedTo2(khz / 1000)
        }
        let cachedFrequency = cpuinfoFrequency.flatMap { cached in
            let age = context.monotonicSeconds - cached.readAt
            return age >= 0 && age < Self.cpuinfoFrequencyLifetime ? cached.mhz : nil
        }
        if frequencyMHz == nil, let cachedFrequency {
            frequencyMHz = cachedFrequency
        } else if brand == nil || frequencyMHz == nil {
            // The first processor block is all we use. The kernel generates cpuinfo as it is read, so once the brand
            // is known, 8 KiB (cpu0's block and a little more) is enough for `cpu MHz` and much cheaper than every CPU.
            if let text = HostFile.readIfPresent(context.paths.proc("cpuinfo"), limit: brand == nil ? 64 << 10 : 8 << 10) {
                let info = CPUInfoParser.parse(text)
                if brand == nil { brand = info.brand }
                if frequencyMHz == nil {
                    frequencyMHz = info.frequencyMHz.map(roundedTo2)
                    cpuinfoFrequency = (frequencyMHz, context.monotonicSeconds)
                }
            }
        }

        let report = CPUReport(
            usagePercent: usage.total?.busyPercent, perCore: usage.perCore, cores: stat.cpus.count, brand: brand,
            frequencyMHz: frequencyMHz, iowaitPercent: usage.total?.iowaitPercent, stealPercent: usage.total?.stealPercent)
        return CollectorOutput(samples: Self.samples(report: report, stat: stat, ticksPerSecond: ticksPerSecond), report: .cpu(report))
    }

    /// Usage between two readings.
    ///
    /// The total comes from the aggregate `cpu` line when both readings list the same CPUs. When the
    /// set changed (hotplug), the aggregate jumps by a whole CPU's counters, so the total is rebuilt
    /// from the CPUs present in both readings instead. A CPU absent from the previous reading (new,
    /// or back from offline) has nil usage for this interval: its baseline starts now.
    public static func usage(previous: ProcStat?, current: ProcStat) -> (total: CPUUsage?, perCore: [CPUReport.CoreUsage]) {
        guard let previous else {
            return (nil, current.cpus.map { CPUReport.CoreUsage(cpu: $0.name, usagePercent: nil) })
        }
        var before: [String: CPUTimes] = [:]
        for cpu in previous.cpus { before[cpu.name] = cpu.times }
        var perCore: [CPUReport.CoreUsage] = []
        perCore.reserveCapacity(current.cpus.count)
        var sumBefore = CPUTimes()
        var sumNow = CPUTimes()
        var common = 0
        for cpu in current.cpus {
            if let old = before[cpu.name] {
                perCore.append(CPUReport.CoreUsage(cpu: cpu.name, usagePercent: CPUUsage.between(old, cpu.times).busyPercent))
                sumBefore = sumBefore + old
                sumNow = sumNow + cpu.times
                common += 1
            } else {
                perCore.append(CPUReport.CoreUsage(cpu: cpu.name, usagePercent: nil))
            }
        }
        let sameSet = common == current.cpus.count && common == previous.cpus.count
        let total: CPUUsage?
        if sameSet {
            total = CPUUsage.between(previous.total, current.total)
        } else if common > 0 {
            total = CPUUsage.between(sumBefore, sumNow)
        } else {
            total = nil
        }
        return (total, perCore)
    }

    static func samples(report: CPUReport, stat: ProcStat, ticksPerSecond: Double) -> [MetricSample] {
        var samples: [MetricSample] = []
        samples.reserveCapacity(6 + report.perCore.count + stat.cpus.count * CPUTimes.modes.count)
        if let usage = report.usagePercent {
            samples.append(MetricSample(MetricName.cpuUsagePercent, .gauge, usage, help: "Percent of all CPUs busy over the last interval."))
        }
        for core in report.perCore {
            guard let usage = core.usagePercent else { continue }
            samples.append(
                MetricSample(
                    MetricName.cpuCoreUsagePercent, .gauge, usage, labels: [MetricLabel("cpu", core.cpu)],
                    help: "Percent of one CPU busy over the last interval."))
        }
        for cpu in stat.cpus {
            for (mode, jiffies) in zip(CPUTimes.modes, cpu.times.modeValues) {
                samples.append(
                    MetricSample(
                        MetricName.cpuSecondsTotal, .counter, Double(jiffies) / ticksPerSecond,
                        labels: [MetricLabel("cpu", cpu.name), MetricLabel("mode", mode)],
                        help: "Seconds each CPU spent in each mode since boot."))
            }
        }
        samples.append(MetricSample(MetricName.cpuCores, .gauge, Double(report.cores), help: "Online logical CPUs."))
        if let mhz = report.frequencyMHz {
            samples.append(MetricSample(MetricName.cpuFrequencyHertz, .gauge, mhz * 1_000_000, help: "Current frequency of cpu0 in hertz."))
        }
        if let iowait = report.iowaitPercent {
            samples.append(MetricSample(MetricName.cpuIowaitPercent, .gauge, iowait, help: "Percent of the last interval spent waiting for I/O."))
        }
        if let steal = report.stealPercent {
            samples.append(MetricSample(MetricName.cpuStealPercent, .gauge, steal, help: "Percent of the last interval stolen by the hypervisor."))
        }
        return samples
    }
}
