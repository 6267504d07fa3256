//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// The typed results of the built-in collectors. The API encodes these directly; every field
// documents its unit and where it comes from. Percentages are 0–100 and rounded to 2 decimals.

/// CPU usage and identity. Usage comes from deltas of `/proc/stat` jiffies between two collections:
/// busy = user + nice + system + irq + softirq + steal, total = busy + idle + iowait (guest and
/// guest_nice are already inside user and nice, so they are not added again).
public struct CPUReport: Sendable, Hashable {
    /// Percent of all CPUs busy over the last interval, 0–100; nil on the first collection (no delta yet).
    public var usagePercent: Double?
    /// Per-CPU usage, in `/proc/stat` order; a CPU seen for the first time (or again after going offline) has nil.
    public var perCore: [CoreUsage]
    /// Online logical CPUs (`cpuN` lines in `/proc/stat`).
    public var cores: Int
    /// `model name` from `/proc/cpuinfo`; on ARM, built from `CPU implementer`/`CPU part`.
    public var brand: String?
    /// Current frequency in MHz: cpufreq `scaling_cur_freq` (kHz / 1000) of cpu0, else `cpu MHz` of `/proc/cpuinfo`.
    public var frequencyMHz: Double?
    /// Percent of the interval spent in iowait, 0–100, all CPUs.
    public var iowaitPercent: Double?
    /// Percent of the interval stolen by the hypervisor, 0–100, all CPUs.
    public var stealPercent: Double?

    public struct CoreUsage: Sendable, Hashable {
        /// `cpu0`, `cpu1`, …
        public var cpu: String
        public var usagePercent: Double?
        public init(cpu: String, usagePercent: Double?) {
            self.cpu = cpu
            self.usagePercent = usagePercent
        }
    }

    public init(
        usagePercent: Double?, perCore: [CoreUsage], cores: Int, brand: String?, frequencyMHz: Double?,
        iowaitPercent: Double? = nil, stealPercent: Double? = nil
    ) {
        self.usagePercent = usagePercent
        self.perCore = perCore
        self.cores = cores
        self.brand = brand
        self.frequencyMHz = frequencyMHz
        self.iowaitPercent = iowaitPercent
        self.stealPercent = stealPercent
    }

}

/// Memory from `/proc/meminfo`. usage % = (MemTotal − MemAvailable) / MemTotal.
public struct MemoryReport: Sendable, Hashable {
    public var totalBytes: UInt64
    /// MemTotal − MemAvailable.
    public var usedBytes: UInt64
    /// MemAvailable, or an estimate when the kernel lacks it (see `availableEstimated`).
    public var availableBytes: UInt64
    public var usagePercent: Double
    /// True when `MemAvailable` is missing (kernels before 3.14) and it was estimated as
    /// MemFree + Active(file) + Inactive(file) + SReclaimable (or MemFree + Buffers + Cached).
    public var availableEstimated: Bool
    public var swapTotalBytes: UInt64
    public var swapFreeBytes: UInt64

    public init(
        totalBytes: UInt64, usedBytes: UInt64, availableBytes: UInt64, usagePercent: Double, availableEstimated: Bool,
        swapTotalBytes: UInt64, swapFreeBytes: UInt64
    ) {
        self.totalBytes = totalBytes
        self.usedBytes = usedBytes
        self.availableBytes = availableBytes
        self.usagePercent = usagePercent
        self.availableEstimated = availableEstimated
        self.swapTotalBytes = swapTotalBytes
        self.swapFreeBytes = swapFreeBytes
    }
}

/// One mounted filesystem, from `/proc/self/mountinfo` and `statvfs(3)`.
/// usage % is computed as `df` does: used / (used + available to unprivileged users), so blocks
/// reserved for root count as used capacity: used = blocks − bfree, usage = used / (used + bavail).
public struct FilesystemReport: Sendable, Hashable {
    /// Mount source, e.g. `/dev/vda1`.
    public var device: String
    public var mountPoint: String
    public var fsType: String
    /// Total size in bytes (f_blocks × f_frsize).
    public var totalBytes: UInt64
    /// (f_blocks − f_bfree) × f_frsize.
    public var usedBytes: UInt64
    /// Available to unprivileged users (f_bavail × f_frsize).
    public var availableBytes: UInt64
    public var usagePercent: Double
    public var inodesTotal: UInt64
    public var inodesFree: UInt64
    public var readOnly: Bool
    /// True when `statvfs` did not answer within the collector's `statfs_timeout` (e.g. a dead NFS server);
    /// the size fields are then 0 and must not be trusted.
    public var stale: Bool

    public init(
        device: String, mountPoint: String, fsType: String, totalBytes: UInt64, usedBytes: UInt64, availableBytes: UInt64,
        usagePercent: Double, inodesTotal: UInt64, inodesFree: UInt64, readOnly: Bool, stale: Bool
    ) {
        self.device = device
        self.mountPoint = mountPoint
        self.fsType = fsType
        self.totalBytes = totalBytes
        self.usedBytes = usedBytes
        self.availableBytes = availableBytes
        self.usagePercent = usagePercent
        self.inodesTotal = inodesTotal
        self.inodesFree = inodesFree
        self.readOnly = readOnly
        self.stale = stale
    }
}

/// All reported filesystems; `rootUsagePercent` is the filesystem mounted at `/` (nil if `/` is excluded or stale).
public struct DiskReport: Sendable, Hashable {
    public var filesystems: [FilesystemReport]
    public var rootUsagePercent: Double?

    public init(filesystems: [FilesystemReport], rootUsagePercent: Double?) {
        self.filesystems = filesystems
        self.rootUsagePercent = rootUsagePercent
    }
}

/// `/proc/loadavg`.
public struct LoadReport: Sendable, Hashable {
    public var oneMinute: Double
    public var fiveMinutes: Double
    public var fifteenMinutes: Double
    /// Currently runnable scheduling entities (4th field, before the slash).
    public var runnableTasks: Int
    /// Total scheduling entities (4th field, after the slash).
    public var totalTasks: Int

    public init(oneMinute: Double, fiveMinutes: Double, fifteenMinutes: Double, runnableTasks: Int, totalTasks: Int) {
        self.oneMinute = oneMinute
        self.fiveMinutes = fiveMinutes
        self.fifteenMinutes = fifteenMinutes
        self.runnableTasks = runnableTasks
        self.totalTasks = totalTasks
    }
}

/// `/proc/uptime` and the boot time derived from it (or from `btime` in `/proc/stat`).
public struct UptimeReport: Sendable, Hashable {
    /// Seconds since boot (first field of `/proc/uptime`).
    public var uptimeSeconds: Double
    /// Seconds all CPUs spent idle since boot (second field; can exceed uptime on SMP).
    public var idleSeconds: Double

    public init(uptimeSeconds: Double, idleSeconds: Double) {
        self.uptimeSeconds = uptimeSeconds
        self.idleSeconds = idleSeconds
    }
}

/// Counters and rates of one interface from `/proc/net/dev`.
public struct InterfaceReport: Sendable, Hashable {
    public var name: String
    public var receiveBytes: UInt64
    public var receivePackets: UInt64
    public var receiveErrors: UInt64
    public var receiveDrops: UInt64
    public var transmitBytes: UInt64
    public var transmitPackets: UInt64
    public var transmitErrors: UInt64
    public var transmitDrops: UInt64
    /// Bytes per second over the last interval; nil on the first sight of the interface and for an
    /// interval in which a counter went backwards (reset or wrap: a new baseline is taken).
    public var receiveBytesPerSecond: Double?
    public var transmitBytesPerSecond: Double?
    public var receivePacketsPerSecond: Double?
    public var transmitPacketsPerSecond: Double?
    public var loopback: Bool

    public init(
        name: String, receiveBytes: UInt64, receivePackets: UInt64, receiveErrors: UInt64, receiveDrops: UInt64,
        transmitBytes: UInt64, transmitPackets: UInt64, transmitErrors: UInt64, transmitDrops: UInt64,
        receiveBytesPerSecond: Double? = nil, transmitBytesPerSecond: Double? = nil,
        receivePacketsPerSecond: Double? = nil, transmitPacketsPerSecond: Double? = nil, loopback: Bool
    ) {
        self.name = name
        self.receiveBytes = receiveBytes
        self.receivePackets = receivePackets
        self.receiveErrors = receiveErrors
        self.receiveDrops = receiveDrops
        self.transmitBytes = transmitBytes
        self.transmitPackets = transmitPackets
        self.transmitErrors = transmitErrors
        self.transmitDrops = transmitDrops
        self.receiveBytesPerSecond = receiveBytesPerSecond
        self.transmitBytesPerSecond = transmitBytesPerSecond
        self.receivePacketsPerSecond = receivePacketsPerSecond
        self.transmitPacketsPerSecond = transmitPacketsPerSecond
        self.loopback = loopback
    }
}

/// All interfaces; the totals are over non-loopback interfaces (the spec's `bytes_sent`/`bytes_received`).
public struct NetworkReport: Sendable, Hashable {
    public var interfaces: [InterfaceReport]
    public var bytesSent: UInt64
    public var bytesReceived: UInt64

    public init(interfaces: [InterfaceReport], bytesSent: UInt64, bytesReceived: UInt64) {
        self.interfaces = interfaces
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
    }
}

/// One temperature sensor, in °C (the kernel reports millidegrees).
public struct TemperatureSensor: Sendable, Hashable {
    /// `hwmon` or `thermal`.
    public var source: String
    /// hwmon chip `name` (e.g. `coretemp`, `k10temp`) or thermal zone `type` (e.g. `x86_pkg_temp`).
    public var chip: String
    /// `temp1_label` (e.g. `Package id 0`), or the file/zone name when there is no label.
    public var label: String
    public var celsius: Double
    /// True when the sensor is a CPU sensor (coretemp, k10temp, zenpower, cpu_thermal, x86_pkg_temp, soc…).
    public var cpu: Bool

    public init(source: String, chip: String, label: String, celsius: Double, cpu: Bool) {
        self.source = source
        self.chip = chip
        self.label = label
        self.celsius = celsius
        self.cpu = cpu
    }
}

/// Sensors that could be read (a sensor that fails to read is omitted, never reported as 0).
public struct TemperatureReport: Sendable, Hashable {
    public var sensors: [TemperatureSensor]
    /// The hottest CPU sensor in °C, or nil when there is none (the spec's `system_health.temperature`).
    public var cpuCelsius: Double?

    public init(sensors: [TemperatureSensor], cpuCelsius: Double?) {
        self.sensors = sensors
        self.cpuCelsius = cpuCelsius
    }
}

/// Host identity.
public struct HostReport: Sendable, Hashable {
    /// `/proc/sys/kernel/hostname`.
    public var hostname: String
    /// `NAME` from `/etc/os-release` (or `/usr/lib/os-release`) under the root filesystem.
    public var osName: String?
    /// `VERSION` from os-release (e.g. `12 (bookworm)`), else `VERSION_ID`.
    public var osVersion: String?
    /// `ID` from os-release (e.g. `debian`).
    public var osID: String?
    /// `/proc/sys/kernel/osrelease`, e.g. `6.1.0-13-amd64`.
    public var kernelVersion: String?
    /// Boot time from `btime` in `/proc/stat`.
    public var bootTime: Timestamp?
    /// `/etc/machine-id`.
    public var machineID: String?
    /// CPU architecture from `uname(2)` of the running agent (e.g. `x86_64`).
    public var architecture: String?

    public init(
        hostname: String, osName: String?, osVersion: String?, osID: String?, kernelVersion: String?, bootTime: Timestamp?,
        machineID: String?, architecture: String?
    ) {
        self.hostname = hostname
        self.osName = osName
        self.osVersion = osVersion
        self.osID = osID
        self.kernelVersion = kernelVersion
        self.bootTime = bootTime
        self.machineID = machineID
        self.architecture = architecture
    }
}

/// What a built-in collector reports beside its samples; the snapshot store keeps the latest of each.
public enum CollectorReport: Sendable {
    case cpu(CPUReport)
    case memory(MemoryReport)
    case disk(DiskReport)
    case load(LoadReport)
    case uptime(UptimeReport)
    case network(NetworkReport)
    case temperature(TemperatureReport)
    case host(HostReport)
    case services(ServicesReport)
    case processes(ProcessesReport)
    /// A collector's own `system_info` section, kept under its ``SystemInfoSection/key``.
    case section(any SystemInfoSection)
}
