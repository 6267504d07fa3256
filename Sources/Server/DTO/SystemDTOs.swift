//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

// JSON shapes of `/api/v1/status`, `/api/v1/system` and friends. Field names of the specification are
// kept exactly (`cpu_usage_percent`, `load_average.one_minute`, `system_info.memory.total_gb`, …); every
// other field is an addition beside them. Keys are always present; unknown values are `null`.

/// `system_health`: the spec's headline figures.
struct SystemHealthDTO: Encodable {
    var snapshot: AgentSnapshot

    enum Keys: String, CodingKey {
        case cpu_usage_percent, memory_usage_percent, disk_usage_percent, load_average, uptime_seconds, temperature
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.cpu_usage_percent, snapshot.cpu?.usagePercent)
        try o(.memory_usage_percent, snapshot.memory?.usagePercent)
        try o(.disk_usage_percent, snapshot.disk?.rootUsagePercent)
        try o(.load_average, snapshot.load.map(LoadAverageDTO.init))
        try o(.uptime_seconds, snapshot.uptime.flatMap { wholeSeconds($0.uptimeSeconds) })
        try o(.temperature, snapshot.temperature?.cpuCelsius)
    }
}

struct LoadAverageDTO: Encodable {
    var report: LoadReport

    enum Keys: String, CodingKey { case one_minute, five_minutes, fifteen_minutes, runnable_tasks, total_tasks }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.one_minute, report.oneMinute)
        try o(.five_minutes, report.fiveMinutes)
        try o(.fifteen_minutes, report.fifteenMinutes)
        try o(.runnable_tasks, report.runnableTasks)
        try o(.total_tasks, report.totalTasks)
    }
}

/// `system_info`: the spec's "System Information" (`cpu`, `memory`, `network`, `system`) plus `disks`,
/// `temperatures`, `load` and the collectors' own sections (``AgentSnapshot/sectionKeys``),
/// each encoded as the collector's ``SystemInfoSection`` or null.
struct SystemInfoDTO: Encodable {
    var snapshot: AgentSnapshot
    /// ``AgentIdentity``: the `agent_id` of the agent's pushed rows; nil without one (`collect`).
    var agentID: String? = nil

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init(stringValue: String) { self.init(stringValue) }
        init?(intValue: Int) { nil }

        static let cpu = Key("cpu"), memory = Key("memory"), network = Key("network"), system = Key("system")
        static let disks = Key("disks"), temperatures = Key("temperatures"), load = Key("load")
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Key.self)
        try o(.cpu, snapshot.cpu.map(CPUDTO.init))
        try o(.memory, snapshot.memory.map(MemoryDTO.init))
        try o(.network, snapshot.network.map(NetworkDTO.init))
        try o(.system, SystemDTO(host: snapshot.host, uptime: snapshot.uptime, agentID: agentID))
        try o(.disks, snapshot.disk.map { $0.filesystems.map(FilesystemDTO.init) })
        try o(.temperatures, snapshot.temperature.map { $0.sensors.map(SensorDTO.init) })
        try o(.load, snapshot.load.map(LoadAverageDTO.init))
        for key in snapshot.sectionKeys {
            if let section = snapshot.sections[key] {
                try o.container.encode(section, forKey: Key(key))
            } else {
                try o.container.encodeNil(forKey: Key(key))
            }
        }
    }
}

struct CPUDTO: Encodable {
    var report: CPUReport

    enum Keys: String, CodingKey { case cores, usage_percent, frequency, brand, iowait_percent, steal_percent, per_core }
    enum CoreKeys: String, CodingKey { case cpu, usage_percent }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.cores, report.cores)
        try o(.usage_percent, report.usagePercent)
        try o(.frequency, report.frequencyMHz.map { rounded($0, 0) })
        try o(.brand, report.brand)
        try o(.iowait_percent, report.iowaitPercent)
        try o(.steal_percent, report.stealPercent)
        var cores = o.container.nestedUnkeyedContainer(forKey: .per_core)
        for core in report.perCore {
            var c = cores.nestedContainer(keyedBy: CoreKeys.self)
            try c.encode(core.cpu, forKey: .cpu)
            if let usage = core.usagePercent { try c.encode(usage, forKey: .usage_percent) } else { try c.encodeNil(forKey: .usage_percent) }
        }
    }
}

struct MemoryDTO: Encodable {
    var report: MemoryReport

    enum Keys: String, CodingKey {
        case total_gb, used_gb, available_gb, usage_percent, total_bytes, used_bytes, available_bytes, available_estimated
        case swap_total_bytes, swap_free_bytes
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.total_gb, gibibytes(report.totalBytes))
        try o(.used_gb, gibibytes(report.usedBytes))
        try o(.available_gb, gibibytes(report.availableBytes))
        try o(.usage_percent, report.usagePercent)
        try o(.total_bytes, report.totalBytes)
        try o(.used_bytes, report.usedBytes)
        try o(.available_bytes, report.availableBytes)
        try o(.available_estimated, report.availableEstimated)
        try o(.swap_total_bytes, report.swapTotalBytes)
        try o(.swap_free_bytes, report.swapFreeBytes)
    }
}

struct NetworkDTO: Encodable {
    var report: NetworkReport

    enum Keys: String, CodingKey { case interfaces, bytes_sent, bytes_received, details }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.interfaces, report.interfaces.map(\.name))
        try o(.bytes_sent, report.bytesSent)
        try o(.bytes_received, report.bytesReceived)
        try o(.details, report.interfaces.map(InterfaceDTO.init))
    }
}

struct InterfaceDTO: Encodable {
    var report: InterfaceReport

    enum Keys: String, CodingKey {
        case name, loopback
        case receive_bytes, transmit_bytes, receive_packets, transmit_packets, receive_errors, transmit_errors, receive_drops, transmit_drops
        case receive_bytes_per_second, transmit_bytes_per_second, receive_packets_per_second, transmit_packets_per_second
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.name, report.name)
        try o(.loopback, report.loopback)
        try o(.receive_bytes, report.receiveBytes)
        try o(.transmit_bytes, report.transmitBytes)
        try o(.receive_packets, report.receivePackets)
        try o(.transmit_packets, report.transmitPackets)
        try o(.receive_errors, report.receiveErrors)
        try o(.transmit_errors, report.transmitErrors)
        try o(.receive_drops, report.receiveDrops)
        try o(.transmit_drops, report.transmitDrops)
        try o(.receive_bytes_per_second, report.receiveBytesPerSecond.map { rounded($0) })
        try o(.transmit_bytes_per_second, report.transmitBytesPerSecond.map { rounded($0) })
        try o(.receive_packets_per_second, report.receivePacketsPerSecond.map { rounded($0) })
        try o(.transmit_packets_per_second, report.transmitPacketsPerSecond.map { rounded($0) })
    }
}

struct SystemDTO: Encodable {
    var host: HostReport?
    var uptime: UptimeReport?
    var agentID: String?

    enum Keys: String, CodingKey {
        case hostname, os_name, os_version, kernel_version, os_id, architecture, machine_id, agent_id, boot_time, uptime_seconds
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.hostname, host?.hostname)
        try o(.os_name, host?.osName)
        try o(.os_version, host?.osVersion)
        try o(.kernel_version, host?.kernelVersion)
        try o(.os_id, host?.osID)
        try o(.architecture, host?.architecture)
        try o(.machine_id, host?.machineID)
        try o(.agent_id, agentID)
        try o(.boot_time, host?.bootTime?.rfc3339)
        try o(.uptime_seconds, uptime.map { rounded($0.uptimeSeconds) })
    }
}

struct FilesystemDTO: Encodable {
    var report: FilesystemReport

    enum Keys: String, CodingKey {
        case device, mount_point, fs_type, total_bytes, used_bytes, available_bytes, usage_percent, inodes_total, inodes_free, read_only, stale
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.device, report.device)
        try o(.mount_point, report.mountPoint)
        try o(.fs_type, report.fsType)
        try o(.total_bytes, report.totalBytes)
        try o(.used_bytes, report.usedBytes)
        try o(.available_bytes, report.availableBytes)
        try o(.usage_percent, report.usagePercent)
        try o(.inodes_total, report.inodesTotal)
        try o(.inodes_free, report.inodesFree)
        try o(.read_only, report.readOnly)
        try o(.stale, report.stale)
    }
}

struct SensorDTO: Encodable {
    var sensor: TemperatureSensor

    enum Keys: String, CodingKey { case source, chip, label, celsius, cpu }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.source, sensor.source)
        try o(.chip, sensor.chip)
        try o(.label, sensor.label)
        try o(.celsius, sensor.celsius)
        try o(.cpu, sensor.cpu)
    }
}
