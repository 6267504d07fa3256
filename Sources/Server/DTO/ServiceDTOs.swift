//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// One entry of `services`: the spec's `name`, `status`, `pid`, then what the agent adds.
struct ServiceDTO: Encodable {
    var service: ServiceReport

    enum Keys: String, CodingKey {
        case name, status, pid, unit, load_state, active_state, sub_state, since, restarts, cpu_percent, memory_bytes, pss_bytes, process_count, probe
        case discovered, critical, source, reason
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.name, service.name)
        try o(.status, service.status.rawValue)
        try o(.pid, service.pid)
        try o(.unit, service.unit)
        try o(.load_state, service.loadState)
        try o(.active_state, service.activeState)
        try o(.sub_state, service.subState)
        try o(.since, service.since?.rfc3339)
        try o(.restarts, service.restarts)
        try o(.cpu_percent, service.cpuPercent)
        try o(.memory_bytes, service.memoryBytes)
        try o(.pss_bytes, service.pssBytes)
        try o(.process_count, service.processCount)
        try o(.probe, service.probe.map(ProbeDTO.init))
        try o(.discovered, service.discovered)
        try o(.critical, service.critical)
        try o(.source, service.source.rawValue)
        try o(.reason, service.reason)
    }
}

struct ProbeDTO: Encodable {
    var probe: ServiceProbeResult

    enum Keys: String, CodingKey { case kind, target, ok, duration_seconds, detail }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.kind, probe.kind)
        try o(.target, probe.target)
        try o(.ok, probe.ok)
        try o(.duration_seconds, probe.durationSeconds.map { rounded($0, 6) })
        try o(.detail, probe.detail)
    }
}

/// `GET /api/v1/services`.
struct ServicesDTO: Encodable {
    var snapshot: AgentSnapshot

    enum Keys: String, CodingKey { case timestamp, source, bus_error, services }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.timestamp, (snapshot.updatedAt ?? .now()).rfc3339)
        try o(.source, snapshot.services?.source.rawValue)
        try o(.bus_error, snapshot.services?.busError)
        try o(.services, (snapshot.services?.services ?? []).map(ServiceDTO.init))
    }
}

/// One process of `GET /api/v1/processes`.
struct ProcessDTO: Encodable {
    var process: ProcessReport

    enum Keys: String, CodingKey { case pid, ppid, name, command, state, uid, cpu_percent, memory_bytes, threads, started_at }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.pid, process.pid)
        try o(.ppid, process.ppid)
        try o(.name, process.name)
        try o(.command, process.command)
        try o(.state, process.state)
        try o(.uid, process.uid)
        try o(.cpu_percent, process.cpuPercent)
        try o(.memory_bytes, process.memoryBytes)
        try o(.threads, process.threads)
        try o(.started_at, process.startedAt?.rfc3339)
    }
}

/// `GET /api/v1/processes`.
struct ProcessesDTO: Encodable {
    var timestamp: Timestamp
    var report: ProcessesReport

    enum Keys: String, CodingKey { case timestamp, total, threads, by_state, top_cpu, top_memory }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.timestamp, timestamp.rfc3339)
        try o(.total, report.total)
        try o(.threads, report.threads)
        try o(.by_state, report.byState)
        try o(.top_cpu, report.topByCPU.map(ProcessDTO.init))
        try o(.top_memory, report.topByMemory.map(ProcessDTO.init))
    }
}
