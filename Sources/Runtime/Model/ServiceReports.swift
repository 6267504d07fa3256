//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The state of a tracked service, as the spec's `services[].status`.
public enum ServiceStatus: String, Sendable, Hashable, CaseIterable {
    /// Active (systemd `ActiveState` active/reloading/activating) or a matching process is alive, and its probe (if any) answers.
    case running
    /// Not active (systemd inactive/deactivating, or not installed: see ``ServiceReport/loadState``), or no matching process.
    case stopped
    /// systemd `ActiveState=failed`, the main process is a zombie, or the unit restarts in a loop (`auto-restart`).
    case error
    /// Running, but its probe failed (refused, timed out or answered wrongly).
    case unresponsive
    /// The state cannot be known: the D-Bus call failed and no process was found to fall back on.
    case unknown
}

/// Where a service's state came from.
public enum ServiceSource: String, Sendable, Hashable {
    /// systemd over D-Bus: unit properties.
    case systemd
    /// A scan of `/proc` matching the service's process patterns (no systemd, or the bus failed).
    case proc
}

/// The result of one responsiveness probe.
public struct ServiceProbeResult: Sendable, Hashable {
    /// `tcp`, `http`, `redis` or `postgres`.
    public var kind: String
    /// `host:port` probed.
    public var target: String
    public var ok: Bool
    /// Seconds from the start of the connect to the verdict; nil when it never connected.
    public var durationSeconds: Double?
    /// What was seen: `connected`, `HTTP 200`, `+PONG`, `SSLRequest answered N`, or the failure (`connection refused`, `timed out after 2 s`).
    public var detail: String

    public init(kind: String, target: String, ok: Bool, durationSeconds: Double?, detail: String) {
        self.kind = kind
        self.target = target
        self.ok = ok
        self.durationSeconds = durationSeconds
        self.detail = detail
    }
}

/// One tracked service.
public struct ServiceReport: Sendable, Hashable {
    /// The configured name (the spec's: `sshd`, `nginx`, `postgres`, …) or, for a discovered unit, the unit name without `.service`.
    public var name: String
    public var status: ServiceStatus
    /// The main process: systemd `MainPID`, or with `/proc` the oldest matching process whose parent is not a match. Nil when not running.
    public var pid: Int?
    /// The systemd unit (`ssh.service`, `postgresql@15-main.service`); nil without systemd.
    public var unit: String?
    /// systemd `LoadState` (`loaded`, `not-found`, `masked`, …); nil without systemd.
    public var loadState: String?
    /// systemd `ActiveState` (`active`, `inactive`, `failed`, `activating`, …); nil without systemd.
    public var activeState: String?
    /// systemd `SubState` (`running`, `dead`, `exited`, `auto-restart`, …); nil without systemd.
    public var subState: String?
    /// When the unit entered its current active state (`StateChangeTimestamp`), or when the main process started
    /// (`/proc/PID/stat` starttime on the boot clock); nil when unknown.
    public var since: Timestamp?
    /// systemd `NRestarts` (automatic restarts since the unit was started by hand); nil without systemd.
    public var restarts: Int?
    /// Percent of one CPU used by the service's processes over the last interval (may exceed 100 on several CPUs):
    /// from the unit cgroup's `cpu.stat` `usage_usec` under systemd (dead children included), else from deltas of
    /// `utime + stime` in `/proc/PID/stat` of the main process and its descendants. Nil on the first collection.
    public var cpuPercent: Double?
    /// Resident memory in bytes: the cgroup's `memory.current` minus page cache (`memory.stat` `file`) under systemd,
    /// else the sum of `VmRSS` over the service's processes. Nil when not running.
    public var memoryBytes: UInt64?
    /// Proportional set size (`Pss` of `/proc/PID/smaps_rollup`) summed over the processes, when the kernel has it and it is readable.
    /// A large process's figure may be up to 10 s per GiB resident old (at most 300 s): reading it walks the page tables.
    public var pssBytes: UInt64?
    /// Processes of the service (cgroup members under systemd, else the main process and its descendants).
    public var processCount: Int
    public var probe: ServiceProbeResult?
    /// True for a unit found by auto-discovery rather than named in the configuration.
    public var discovered: Bool
    /// A critical service (the spec's `critical_services`); alerts treat it as such.
    public var critical: Bool
    public var source: ServiceSource
    /// Why the status is `error` or `unknown` (`unit failed: exit-code`, `main process is a zombie`, `D-Bus: …`).
    public var reason: String?

    public init(
        name: String, status: ServiceStatus, pid: Int? = nil, unit: String? = nil, loadState: String? = nil, activeState: String? = nil,
        subState: String? = nil, since: Timestamp? = nil, restarts: Int? = nil, cpuPercent: Double? = nil, memoryBytes: UInt64? = nil,
        pssBytes: UInt64? = nil, processCount: Int = 0, probe: ServiceProbeResult? = nil, discovered: Bool = false, critical: Bool = false,
        source: ServiceSource, reason: String? = nil
    ) {
        self.name = name
        self.status = status
        self.pid = pid
        self.unit = unit
        self.loadState = loadState
        self.activeState = activeState
        self.subState = subState
        self.since = since
        self.restarts = restarts
        self.cpuPercent = cpuPercent
        self.memoryBytes = memoryBytes
        self.pssBytes = pssBytes
        self.processCount = processCount
        self.probe = probe
        self.discovered = discovered
        self.critical = critical
        self.source = source
        self.reason = reason
    }
}

/// Every tracked service, from one collection.
public struct ServicesReport: Sendable, Hashable {
    /// In configuration order, then discovered units by name.
    public var services: [ServiceReport]
    /// `systemd` when the states came from D-Bus, `proc` otherwise.
    public var source: ServiceSource
    /// Why D-Bus was not used or failed (nil when it worked or was not tried).
    public var busError: String?

    public init(services: [ServiceReport], source: ServiceSource, busError: String? = nil) {
        self.services = services
        self.source = source
        self.busError = busError
    }
}

/// One process of the host, as `GET /api/v1/processes` lists it.
public struct ProcessReport: Sendable, Hashable {
    public var pid: Int
    public var ppid: Int
    /// `comm` of `/proc/PID/stat` (at most 15 bytes).
    public var name: String
    /// `/proc/PID/cmdline`, arguments joined by spaces, at most 512 bytes, with the values of secret-looking arguments
    /// (`--db-password=…`, `--token …`, `PASSWORD=…`, a URL's password) replaced by `***`; empty for kernel threads and
    /// zombies.
    public var command: String
    /// The state letter of `/proc/PID/stat` (`R`, `S`, `D`, `Z`, `T`, `I`, …).
    public var state: String
    /// Real user id (`Uid:` of `/proc/PID/status`).
    public var uid: Int?
    /// Percent of one CPU over the last interval (utime + stime deltas); nil for a process seen for the first time.
    public var cpuPercent: Double?
    /// `VmRSS` in bytes (RSS pages of `/proc/PID/stat` × page size).
    public var memoryBytes: UInt64
    /// Threads (`num_threads`).
    public var threads: Int
    /// Process start on the wall clock, from `starttime` and the boot time.
    public var startedAt: Timestamp?

    public init(
        pid: Int, ppid: Int, name: String, command: String, state: String, uid: Int?, cpuPercent: Double?, memoryBytes: UInt64, threads: Int,
        startedAt: Timestamp?
    ) {
        self.pid = pid
        self.ppid = ppid
        self.name = name
        self.command = command
        self.state = state
        self.uid = uid
        self.cpuPercent = cpuPercent
        self.memoryBytes = memoryBytes
        self.threads = threads
        self.startedAt = startedAt
    }
}

/// The process table summarised: counts and the top processes by CPU and by memory.
public struct ProcessesReport: Sendable, Hashable {
    /// Processes (not threads) listed in `/proc`.
    public var total: Int
    /// Threads over all processes.
    public var threads: Int
    /// Processes by state letter (`R`, `S`, `D`, `Z`, …).
    public var byState: [String: Int]
    /// The top processes by CPU percent, highest first.
    public var topByCPU: [ProcessReport]
    /// The top processes by resident memory, highest first.
    public var topByMemory: [ProcessReport]

    public init(total: Int, threads: Int, byState: [String: Int], topByCPU: [ProcessReport], topByMemory: [ProcessReport]) {
        self.total = total
        self.threads = threads
        self.byState = byState
        self.topByCPU = topByCPU
        self.topByMemory = topByMemory
    }
}
