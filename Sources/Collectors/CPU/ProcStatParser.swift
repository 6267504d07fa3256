//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// Jiffies one CPU (or all of them) spent in each mode since boot, from one `cpu` line of `/proc/stat`.
public struct CPUTimes: Sendable, Hashable {
    public var user: UInt64 = 0
    public var nice: UInt64 = 0
    public var system: UInt64 = 0
    public var idle: UInt64 = 0
    public var iowait: UInt64 = 0
    public var irq: UInt64 = 0
    public var softirq: UInt64 = 0
    public var steal: UInt64 = 0
    /// Already included in `user`; never added to busy or total again.
    public var guest: UInt64 = 0
    /// Already included in `nice`.
    public var guestNice: UInt64 = 0

    public init(
        user: UInt64 = 0, nice: UInt64 = 0, system: UInt64 = 0, idle: UInt64 = 0, iowait: UInt64 = 0, irq: UInt64 = 0,
        softirq: UInt64 = 0, steal: UInt64 = 0, guest: UInt64 = 0, guestNice: UInt64 = 0
    ) {
        self.user = user
        self.nice = nice
        self.system = system
        self.idle = idle
        self.iowait = iowait
        self.irq = irq
        self.softirq = softirq
        self.steal = steal
        self.guest = guest
        self.guestNice = guestNice
    }

    /// The modes exported as `viworks_cpu_seconds_total{mode}`, in `/proc/stat` order.
    static let modes = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]

    /// Values in the order of ``modes``.
    var modeValues: [UInt64] { [user, nice, system, idle, iowait, irq, softirq, steal] }
}

/// The parts of `/proc/stat` the agent uses.
public struct ProcStat: Sendable, Hashable {
    /// One `cpuN` line.
    public struct CPULine: Sendable, Hashable {
        /// `cpu0`, `cpu1`, …
        public var name: String
        public var times: CPUTimes
        public init(name: String, times: CPUTimes) {
            self.name = name
            self.times = times
        }
    }

    /// The aggregate `cpu` line.
    public var total: CPUTimes
    /// The `cpuN` lines, in file order (online CPUs only: the kernel omits offline ones).
    public var cpus: [CPULine]
    /// `btime`: boot time in seconds since the epoch.
    public var bootTime: Int64?

    public init(total: CPUTimes, cpus: [CPULine], bootTime: Int64?) {
        self.total = total
        self.cpus = cpus
        self.bootTime = bootTime
    }
}

/// Parses `/proc/stat` (proc(5)).
///
/// ```
/// cpu  22368 0 4393 30205 189 0 25 12 0 0
/// cpu0 10575 0 2116 15871 16 0 8 4 0 0
/// btime 1764446168
/// ```
/// Lines other than `cpu*` and `btime` are skipped. Old kernels print fewer than 10 columns on a
/// `cpu` line; the missing ones are 0.
public enum ProcStatParser {
    /// - Throws: ``ParseError`` when a `cpu` line holds a non-number or fewer than 4 values, or when
    ///   the aggregate `cpu` line is missing.
    public static func parse(_ text: String, file: String = "/proc/stat") throws -> ProcStat {
        var total: CPUTimes?
        var cpus: [ProcStat.CPULine] = []
        var bootTime: Int64?
        var text = text
        try text.forEachByteLine { line in
            guard line.count > 0 else { return }
            let key = line.fields[0]
            if line.hasPrefix(key, "cpu") {
                let suffix = (key.lowerBound + 3)..<key.upperBound
                guard suffix.isEmpty || line.uint64(suffix) != nil else { return }
                let times = try parseTimes(line, file: file)
                if suffix.isEmpty {
                    total = times
                } else {
                    cpus.append(ProcStat.CPULine(name: line.string(key), times: times))
                }
            } else if line.equals(key, "btime") {
                guard line.count >= 2, let value = line.uint64(line.fields[1]), value <= UInt64(Int64.max) else {
                    throw ParseError(file: file, line: line.number, reason: "btime is not an integer")
                }
                bootTime = Int64(value)
            }
        }
        guard let total else { throw ParseError(file: file, reason: "no aggregate \"cpu\" line") }
        return ProcStat(total: total, cpus: cpus, bootTime: bootTime)
    }

    /// Only `btime`, without requiring the rest of the file to be well formed.
    public static func bootTime(_ text: String) -> Int64? {
        for (_, line) in text.numberedLines where line.hasPrefix("btime") {
            let fields = Substring(line).fields
            if fields.count >= 2, fields[0] == "btime" { return parseInt64(fields[1]) }
        }
        return nil
    }

    /// The values after the `cpuN` key: at least 4 (user nice system idle); missing later ones are 0.
    private static func parseTimes(_ line: ByteLine, file: String) throws -> CPUTimes {
        let values = line.count - 1
        guard values >= 4 else {
            throw ParseError(file: file, line: line.number, reason: "cpu line has \(values) values, expected at least 4")
        }
        var numbers = [UInt64](repeating: 0, count: 10)
        for position in 0..<min(values, 10) {
            let range = line.fields[position + 1]
            guard let number = line.uint64(range) else {
                throw ParseError(file: file, line: line.number, reason: "\"\(line.string(range))\" is not a counter")
            }
            numbers[position] = number
        }
        return CPUTimes(
            user: numbers[0], nice: numbers[1], system: numbers[2], idle: numbers[3], iowait: numbers[4], irq: numbers[5], softirq: numbers[6],
            steal: numbers[7], guest: numbers[8], guestNice: numbers[9])
    }
}

/// Usage percentages between two readings of the same CPU (or of the aggregate line).
public struct CPUUsage: Sendable, Hashable {
    /// busy / total × 100.
    public var busyPercent: Double
    public var iowaitPercent: Double
    public var stealPercent: Double

    public init(busyPercent: Double, iowaitPercent: Double, stealPercent: Double) {
        self.busyPercent = busyPercent
        self.iowaitPercent = iowaitPercent
        self.stealPercent = stealPercent
    }

    /// Compares two readings field by field. Each per-mode delta is clamped at 0 (`iowait` is known
    /// to go backwards); busy = user + nice + system + irq + softirq + steal and total = busy + idle
    /// + iowait (guest and guest_nice are already inside user and nice). A total delta of 0 gives 0 %.
    public static func between(_ previous: CPUTimes, _ current: CPUTimes) -> CPUUsage {
        let user = CounterDelta.clamped(from: previous.user, to: current.user)
        let nice = CounterDelta.clamped(from: previous.nice, to: current.nice)
        let system = CounterDelta.clamped(from: previous.system, to: current.system)
        let idle = CounterDelta.clamped(from: previous.idle, to: current.idle)
        let iowait = CounterDelta.clamped(from: previous.iowait, to: current.iowait)
        let irq = CounterDelta.clamped(from: previous.irq, to: current.irq)
        let softirq = CounterDelta.clamped(from: previous.softirq, to: current.softirq)
        let steal = CounterDelta.clamped(from: previous.steal, to: current.steal)
        let busy = Double(user) + Double(nice) + Double(system) + Double(irq) + Double(softirq) + Double(steal)
        let total = busy + Double(idle) + Double(iowait)
        return CPUUsage(
            busyPercent: percent(busy, of: total), iowaitPercent: percent(Double(iowait), of: total),
            stealPercent: percent(Double(steal), of: total))
    }
}

extension CPUTimes {
    /// Field-wise sum, used to rebuild an aggregate from the CPUs present in two readings.
    static func + (lhs: CPUTimes, rhs: CPUTimes) -> CPUTimes {
        CPUTimes(
            user: lhs.user &+ rhs.user, nice: lhs.nice &+ rhs.nice, system: lhs.system &+ rhs.system,
            idle: lhs.idle &+ rhs.idle, iowait: lhs.iowait &+ rhs.iowait, irq: lhs.irq &+ rhs.irq,
            softirq: lhs.softirq &+ rhs.softirq, steal: lhs.steal &+ rhs.steal, guest: lhs.guest &+ rhs.guest,
            guestNice: lhs.guestNice &+ rhs.guestNice)
    }
}
