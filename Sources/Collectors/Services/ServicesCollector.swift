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
import Logging

/// The `services` collector: the state, main PID, resources and responsiveness of every configured service
/// (`[services.<name>]`, the spec's sshd, nginx, postgres, redis, docker, openvpn and viworks-gateway-agent by default)
/// and of discovered well-known servers.
///
/// - With systemd (`[services] systemd = "auto"` and `/run/systemd/system` exists, or `"on"`): unit states from D-Bus
///   (`ListUnits`, then `LoadUnit` + `GetAll` per unit), resources from the unit's cgroup v2 files (`cpu.stat`
///   `usage_usec`, `memory.current` − `memory.stat` `file`, `cgroup.procs`).
/// - Without systemd, or when the bus fails: a scan of `/proc` matching `process_names` (comm) and `command_patterns`
///   (cmdline); the main process is the oldest match whose parent is not a match, and the service's processes are the
///   matches and their descendants. When the bus failed, a service without a matching process is `unknown`, not `stopped`.
/// - Probes of running services run concurrently, each with `[services] probe_timeout`; a failed probe makes the
///   service `unresponsive`.
public actor ServicesCollector: Collector {
    public nonisolated let descriptor = CollectorDescriptor(
        id: "services", isCore: false, defaultTimeout: .seconds(15),
        reads: [.proc("stat"), .proc("[0-9]*/stat"), .proc("[0-9]*/status"), .proc("[0-9]*/smaps_rollup"), .proc("[0-9]*/cmdline", private: true)]
            + ["fs/cgroup", "fs/cgroup/unified"].flatMap { root in
                [HostRead.sys(root + "/cgroup.controllers")]
                    + ["cgroup.procs", "cpu.stat", "memory.current", "memory.stat"].map { HostRead.sys(root + "/*.slice/*.service/" + $0) }
            } + [.sys("fs/cgroup/systemd/cgroup.procs")])
    private let settings: ServicesSettings
    private var unitSource: (any SystemdUnitSource)?
    private let prober: ServiceProber
    private let ticksPerSecond: Double
    private let pageSize: UInt64
    private var cpuHistory = ProcessCPUHistory()
    /// `usage_usec` of each cgroup at the previous collection, with the monotonic time it was read.
    private var cgroupUsage: [String: (usec: UInt64, at: Double)] = [:]
    private var bootTime: (procRoot: String, seconds: Double?)?
    /// The names each process answered to at the previous `/proc` scan (``processNames(comm:arguments:)``), by PID.
    private var argumentNames: [Int: ArgumentNames] = [:]
    /// The services' processes' `Pss`, read again as often as its cost allows.
    private var proportionalSetSizes = ProportionalSetSizes()

    /// What a process's arguments made of its names, and which process that was.
    private struct ArgumentNames {
        var startTicks: UInt64
        var comm: String
        var names: [String]
    }

    private let processTable: SharedProcessTable

    /// - Parameters:
    ///   - unitSource: systemd's D-Bus API; nil creates a ``SystemdBus`` on the host's root when systemd is used.
    ///   - prober: runs the probes.
    ///   - processTable: the scan of `/proc` this collector shares with others (``CollectorCatalog``).
    public init(
        settings: ServicesSettings, unitSource: (any SystemdUnitSource)? = nil, prober: ServiceProber = ServiceProber(), ticksPerSecond: Double? = nil,
        pageSize: UInt64? = nil, processTable: SharedProcessTable = SharedProcessTable()
    ) {
        self.settings = settings
        self.processTable = processTable
        self.unitSource = unitSource
        self.prober = prober
        self.ticksPerSecond = ticksPerSecond ?? HostConstants.ticksPerSecond
        self.pageSize = pageSize ?? HostConstants.pageSize
    }

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let paths = context.paths
        if bootTime?.procRoot != paths.procRoot { bootTime = (paths.procRoot, HostClock.bootTimeEpochSeconds(paths: paths)) }
        let useSystemd: Bool
        switch settings.systemd {
        case .off: useSystemd = false
        case .on: useSystemd = true
        case .auto: useSystemd = unitSource != nil || SystemdBus.isBooted(rootfs: paths.rootfs)
        }
        var report: ServicesReport
        if useSystemd {
            let source = unitSource ?? SystemdBus(rootfs: paths.rootfs, timeout: settings.busTimeout)
            unitSource = source
            do {
                report = try await fromSystemd(source, context)
            } catch let error as SystemdBusError {
                context.logger.warning("systemd D-Bus failed; services from /proc", metadata: ["error": "\(error)"])
                report = try fromProc(context, busError: error.description)
            }
        } else {
            report = try fromProc(context, busError: nil, shared: true)
        }
        proportionalSetSizes.endCollection()
        if settings.probes {
            // Probes run after the D-Bus calls and the scan: they get at most 60 % of the collection's deadline.
            await runProbes(&report, timeout: min(settings.probeTimeout, .nanoseconds(Int64(context.timeout.secondsDouble * 0.6e9))))
        }
        return CollectorOutput(samples: Self.samples(report), report: .services(report))
    }

    // MARK: - systemd

    private func fromSystemd(_ source: any SystemdUnitSource, _ context: CollectorContext) async throws -> ServicesReport {
        let listed = try await source.listUnits()
        var byName: [String: SystemdUnit] = [:]
        for unit in listed { byName[unit.name] = unit }
        var chosen: [(definition: ServiceDefinition, details: SystemdUnitDetails, others: [SystemdUnitDetails], discovered: Bool)] = []
        var claimed = Set<String>()
        for definition in settings.enabledDefinitions where !definition.units.isEmpty {
            var candidates: [SystemdUnitDetails] = []
            for pattern in definition.units {
                if pattern.contains("*") || pattern.contains("?") {
                    for unit in listed where globMatches(pattern, unit.name) && unit.loadState != "not-found" {
                        candidates.append(try await source.unitDetails(unit.name))
                    }
                } else if byName[pattern] != nil || candidates.isEmpty {
                    candidates.append(try await source.unitDetails(pattern))
                }
            }
            var names = Set<String>()
            candidates = candidates.filter { names.insert($0.name).inserted }
            guard let best = candidates.max(by: { Self.preference($0) < Self.preference($1) }) else { continue }
            for candidate in candidates { claimed.insert(candidate.name) }
            chosen.append((definition, best, candidates.filter { $0.name != best.name }, false))
        }
        if settings.discover {
            let configured = Set(settings.definitions.map(\.name))
            for rule in settings.discoveryRules where !configured.contains(rule.name) {
                for unit in listed
                where globMatches(rule.unitPattern, unit.name) && !claimed.contains(unit.name) && unit.loadState == "loaded"
                    && ["active", "activating", "reloading", "failed"].contains(unit.activeState)
                {
                    claimed.insert(unit.name)
                    let details = try await source.unitDetails(unit.name)
                    let name = unit.name.hasSuffix(".service") ? String(unit.name.dropLast(8)) : unit.name
                    chosen.append((ServiceDefinition(name: name, units: [unit.name]), details, [], true))
                }
            }
        }
        // Resources: cgroup files, and the stat of every process of every unit in one table (one CPU history).
        let cgroupRoot = Self.cgroupHierarchy(context.paths.sys("fs/cgroup"))
        var members: [[Int]] = []
        var allPIDs = Set<Int>()
        for entry in chosen {
            var pids = entry.details.controlGroup.map { Self.cgroupProcesses(cgroupRoot + $0) } ?? []
            if entry.details.mainPID > 0, !pids.contains(entry.details.mainPID) { pids.append(entry.details.mainPID) }
            members.append(pids)
            allPIDs.formUnion(pids)
        }
        let reader = try ProcFileReader(root: context.paths.procRoot)
        var processes: [ProcessStat] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        for pid in allPIDs.sorted() {
            if let count = reader.read("\(pid)/stat", into: &buffer), let stat = buffer.withUnsafeBufferPointer({ ProcessStat.parse($0[0..<count]) }) {
                processes.append(stat)
            }
        }
        let table = ProcessTable(processes: processes, vanished: 0, monotonicSeconds: context.monotonicSeconds)
        let percents = cpuHistory.percentages(table, ticksPerSecond: ticksPerSecond)
        var index: [Int: Int] = [:]
        for (i, process) in processes.enumerated() { index[process.pid] = i }
        var usageSeen: [String: (usec: UInt64, at: Double)] = [:]
        var services: [ServiceReport] = []
        for (entryIndex, entry) in chosen.enumerated() {
            let details = entry.details
            // The unit's processes still in the table, by their position in it.
            let positions = members[entryIndex].compactMap { index[$0] }
            let main = details.mainPID > 0 ? index[details.mainPID].map { processes[$0] } : nil
            var (status, reason) = Self.status(details)
            if status == .running, let main, main.isZombie {
                status = .error
                reason = "main process \(main.pid) is a zombie"
            }
            if status == .running, let failed = entry.others.first(where: { $0.activeState == "failed" }) {
                status = .error
                reason = "\(failed.name) failed (\(failed.result ?? "unknown result"))"
            }
            let running = !positions.isEmpty
            var cpu: Double?
            var memory: UInt64?
            if let group = details.controlGroup {
                let directory = cgroupRoot + group
                if let usec = Self.cgroupCPUUsage(directory) {
                    usageSeen[group] = (usec, context.monotonicSeconds)
                    if let before = cgroupUsage[group], usec >= before.usec, context.monotonicSeconds > before.at {
                        cpu = Self.round2(Double(usec - before.usec) / 1e6 / (context.monotonicSeconds - before.at) * 100)
                    }
                }
                memory = Self.cgroupMemory(directory)
            }
            if cpu == nil, running, cgroupUsage[details.controlGroup ?? ""] == nil {
                let known = positions.compactMap { percents[$0] }
                if !known.isEmpty, known.count == positions.count { cpu = Self.round2(known.reduce(0, +)) }
            }
            if memory == nil, running {
                memory = positions.reduce(UInt64(0)) { $0 + processes[$1].rssPages * pageSize }
            }
            let pss = running ? proportionalSetSizes.total(positions.map { processes[$0] }, pageSize: pageSize, now: context.monotonicSeconds, reader: reader) : nil
            let since = details.stateChangeTimestampMicroseconds > 0 ? Timestamp(secondsSinceEpoch: Double(details.stateChangeTimestampMicroseconds) / 1e6) : nil
            services.append(
                ServiceReport(
                    name: entry.definition.name, status: status, pid: details.mainPID > 0 ? details.mainPID : nil, unit: details.name,
                    loadState: details.loadState, activeState: details.activeState, subState: details.subState, since: since, restarts: details.restarts,
                    cpuPercent: status == .stopped ? nil : cpu, memoryBytes: status == .stopped ? nil : memory, pssBytes: pss, processCount: positions.count,
                    probe: nil, discovered: entry.discovered, critical: entry.definition.critical, source: .systemd, reason: reason))
        }
        cgroupUsage = usageSeen
        // Services configured with process patterns only (no units) are still found in /proc.
        let processOnly = settings.enabledDefinitions.filter { $0.units.isEmpty }
        if !processOnly.isEmpty, let fromProc = try? scanProc(context, definitions: processOnly, discover: false, busError: nil) {
            services += fromProc
        }
        return ServicesReport(services: services, source: .systemd)
    }

    /// Which of several matching units represents the service: running with a process, then failed, then other active
    /// states (a `oneshot` wrapper such as `postgresql.service` is `active (exited)`), then inactive, then not found.
    static func preference(_ details: SystemdUnitDetails) -> Int {
        if details.mainPID > 0, ["active", "reloading", "activating", "deactivating"].contains(details.activeState) { return 50 }
        switch details.activeState {
        case "failed": return 40
        case "activating", "reloading": return 35
        case "active": return details.subState == "exited" ? 20 : 30
        case "deactivating": return 15
        default: return details.loadState == "loaded" ? 10 : (details.loadState == "not-found" ? 0 : 5)
        }
    }

    /// The status of a unit from its states alone.
    static func status(_ details: SystemdUnitDetails) -> (ServiceStatus, String?) {
        switch details.loadState {
        case "not-found": return (.stopped, "not installed (no unit file)")
        case "masked": return (.stopped, "masked")
        case "error", "bad-setting": return (.error, "unit file \(details.loadState)")
        default: break
        }
        switch details.activeState {
        case "active", "reloading": return (.running, nil)
        case "activating":
            if details.subState == "auto-restart" {
                return (.error, "restarting after a failure (\(details.result ?? "unknown result"), \(details.restarts ?? 0) restarts)")
            }
            return (.running, nil)
        case "failed": return (.error, "unit failed (\(details.result ?? "unknown result"))")
        case "inactive", "deactivating", "maintenance": return (.stopped, nil)
        default: return (.unknown, "ActiveState \(details.activeState)")
        }
    }

    // MARK: - /proc

    /// - Parameter shared: whether the scan is the round's shared one (``SharedProcessTable``): only when it starts with
    ///   the collection, so that the table's time is its context's; a scan after the D-Bus calls reads its own.
    private func fromProc(_ context: CollectorContext, busError: String?, shared: Bool = false) throws -> ServicesReport {
        let services = try scanProc(context, definitions: settings.enabledDefinitions, discover: settings.discover, busError: busError, shared: shared)
        return ServicesReport(services: services, source: .proc, busError: busError)
    }

    private func scanProc(
        _ context: CollectorContext, definitions: [ServiceDefinition], discover: Bool, busError: String?, shared: Bool = false
    ) throws -> [ServiceReport] {
        let table =
            shared
            ? try processTable.table(for: descriptor.id, procRoot: context.paths.procRoot, monotonicSeconds: context.monotonicSeconds)
            : try ProcessTable.read(procRoot: context.paths.procRoot, monotonicSeconds: context.monotonicSeconds)
        let reader = try ProcFileReader(root: context.paths.procRoot)
        let percents = cpuHistory.percentages(table, ticksPerSecond: ticksPerSecond)
        // One read of each process's arguments, for its names (argv[0], a script's name) and for command patterns.
        // Names are kept from one collection to the next for a process that is still the same program (same PID, start
        // time and comm), so a quiet host reads the arguments of its new processes only. Interpreters and `exe` are
        // read every time (a shell that forks and runs another script keeps its comm), and every process is read
        // for command patterns, which match the whole, changing command line.
        var commandLines: [Int: String] = [:]
        var names: [Int: [String]] = [:]
        let byPattern = definitions.contains { !$0.commandPatterns.isEmpty }
        if byPattern || discover || definitions.contains(where: { !$0.processNames.isEmpty }) {
            var kept: [Int: ArgumentNames] = [:]
            kept.reserveCapacity(table.processes.count)
            for process in table.processes {
                let stable = !byPattern && !process.isZombie && process.comm != "exe" && !Self.isInterpreter(process.comm)
                if stable, let known = argumentNames[process.pid], known.startTicks == process.startTicks, known.comm == process.comm {
                    names[process.pid] = known.names
                    kept[process.pid] = known
                    continue
                }
                let arguments = reader.arguments(process.pid, limit: 4096)
                let derived = Self.processNames(comm: process.comm, arguments: arguments)
                names[process.pid] = derived
                if byPattern { commandLines[process.pid] = arguments?.joined(separator: " ") }
                if stable { kept[process.pid] = ArgumentNames(startTicks: process.startTicks, comm: process.comm, names: derived) }
            }
            argumentNames = kept
        }
        var wanted = Set(definitions.flatMap(\.processNames))
        if discover { wanted.formUnion(settings.discoveryRules.map(\.processName).filter { !$0.isEmpty }) }
        let answering = Self.processesAnswering(wanted, table: table, names: names)
        let tree = ProcessTree(table)
        var claimed = Set<Int>()
        var services: [ServiceReport] = []
        for definition in definitions where !definition.processNames.isEmpty || !definition.commandPatterns.isEmpty {
            var found = Set(definition.processNames.flatMap { answering[$0] ?? [] })
            if !definition.commandPatterns.isEmpty {
                for (index, process) in table.processes.enumerated()
                where commandLines[process.pid].map({ line in definition.commandPatterns.contains { line.contains($0) } }) ?? false {
                    found.insert(index)
                }
            }
            let matches = found.sorted()
            services.append(report(definition, matches: matches, tree: tree, percents: percents, reader: reader, discovered: false, busError: busError))
            claimed.formUnion(tree.members(of: matches).map { tree.table.processes[$0].pid })
        }
        if discover {
            let configured = Set(settings.definitions.map(\.name))
            for rule in settings.discoveryRules where !rule.processName.isEmpty && !configured.contains(rule.name) {
                let matches = (answering[rule.processName] ?? []).filter { !claimed.contains(table.processes[$0].pid) }
                guard !matches.isEmpty else { continue }
                let definition = ServiceDefinition(name: rule.name, processNames: [rule.processName])
                services.append(report(definition, matches: matches, tree: tree, percents: percents, reader: reader, discovered: true, busError: nil))
                claimed.formUnion(tree.members(of: matches).map { tree.table.processes[$0].pid })
            }
        }
        return services
    }

    private func report(
        _ definition: ServiceDefinition, matches: [Int], tree: ProcessTree, percents: [Double?], reader: borrowing ProcFileReader, discovered: Bool,
        busError: String?
    ) -> ServiceReport {
        guard let main = tree.mainProcess(of: matches) else {
            // Without D-Bus we cannot tell a stopped unit from one we failed to ask about.
            return ServiceReport(
                name: definition.name, status: busError == nil ? .stopped : .unknown, discovered: discovered, critical: definition.critical, source: .proc,
                reason: busError.map { "no matching process, and systemd could not be asked: \($0)" })
        }
        let members = tree.members(of: matches)
        let process = tree.table.processes[main]
        var cpu: Double? = 0
        var memory: UInt64 = 0
        for member in members {
            memory += tree.table.processes[member].rssPages * pageSize
            if let percent = percents[member], let sum = cpu { cpu = sum + percent } else { cpu = nil }
        }
        let since = bootTime?.seconds.map { Self.startTime(bootTime: $0, startTicks: process.startTicks, ticksPerSecond: ticksPerSecond) }
        return ServiceReport(
            name: definition.name, status: process.isZombie ? .error : .running, pid: process.pid, since: since, cpuPercent: cpu.map(Self.round2),
            memoryBytes: memory, pssBytes: proportionalSetSizes.total(
                members.map { tree.table.processes[$0] }, pageSize: pageSize, now: tree.table.monotonicSeconds, reader: reader),
            processCount: members.count, discovered: discovered, critical: definition.critical, source: .proc, reason: process.isZombie ? "main process \(process.pid) is a zombie" : nil)
    }

    /// The names a process answers to in `process_names`: its `comm` (the kernel keeps the first 15 bytes of the
    /// executable's file name: `wazuh-logcollec`), the file name of `argv[0]` (`/var/ossec/bin/wazuh-logcollector`,
    /// or a daemon re-executed through `/proc/self/exe` whose comm is `exe`), and, for a script run by an
    /// interpreter (`python3 -u /opt/backup/backup-agent.py`), the script's file name with and without its extension.
    /// `arguments` is nil or empty for kernel threads and zombies: then only `comm`.
    static func processNames(comm: String, arguments: [String]?) -> [String] {
        var names = [comm]
        guard let arguments, let first = arguments.first else { return names }
        let program = baseName(first)
        if !program.isEmpty, program != comm { names.append(program) }
        if isInterpreter(comm) || isInterpreter(program), let script = arguments.dropFirst().first(where: { !$0.hasPrefix("-") }) {
            let file = baseName(script)
            if !file.isEmpty { names.append(file) }
            if let dot = file.lastIndex(of: "."), dot != file.startIndex { names.append(String(file[..<dot])) }
        }
        return names
    }

    /// Programs that run a script named by their first argument that is not an option: `python3`, `python3.11`,
    /// `perl`, `ruby`, `node`, `php8.2`, `bash`, `sh`…
    static func isInterpreter(_ name: String) -> Bool {
        let interpreters = ["python", "perl", "ruby", "node", "nodejs", "php", "bash", "sh", "dash", "zsh", "ksh", "lua", "tclsh", "Rscript"]
        return interpreters.contains { base in
            name.hasPrefix(base) && name.dropFirst(base.count).allSatisfy { $0 == "." || ("0"..."9").contains($0) }
        }
    }

    private static func baseName(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? ""
    }

    /// For each name in `wanted`, the indices (ascending) of the processes that answer to it: one pass over the table,
    /// a dictionary lookup per name a process has (`names`, else its comm), instead of one pass per configured name.
    static func processesAnswering(_ wanted: Set<String>, table: ProcessTable, names: [Int: [String]]) -> [String: [Int]] {
        // The configured names a process's name may stand for: the name itself, and a longer name's first 15 bytes.
        var configuredByName: [String: [String]] = [:]
        for configured in wanted {
            configuredByName[configured, default: []].append(configured)
            if configured.utf8.count > 15 {
                configuredByName[String(decoding: configured.utf8.prefix(15), as: UTF8.self), default: []].append(configured)
            }
        }
        var answering: [String: [Int]] = [:]
        for (index, process) in table.processes.enumerated() {
            for name in names[process.pid] ?? [process.comm] {
                for configured in configuredByName[name] ?? [] where commMatches(configured, name) && answering[configured]?.last != index {
                    answering[configured, default: []].append(index)
                }
            }
        }
        return answering
    }

    /// `comm` is cut to 15 bytes by the kernel: a longer configured name matches on its first 15.
    static func commMatches(_ configured: String, _ comm: String) -> Bool {
        if configured == comm { return true }
        return configured.utf8.count > 15 && comm.utf8.count == 15 && configured.utf8.starts(with: comm.utf8)
    }

    // MARK: - Probes

    private func runProbes(_ report: inout ServicesReport, timeout: Duration) async {
        let prober = self.prober
        let byName = Dictionary(settings.definitions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let jobs: [(Int, ServiceProbeSpec)] = report.services.enumerated().compactMap { index, service in
            guard service.status == .running, let spec = byName[service.name]?.probe else { return nil }
            return (index, spec)
        }
        guard !jobs.isEmpty else { return }
        let results = await withTaskGroup(of: (Int, ServiceProbeResult).self) { group in
            for (index, spec) in jobs { group.addTask { (index, await prober.probe(spec, timeout: timeout)) } }
            var results: [(Int, ServiceProbeResult)] = []
            for await result in group { results.append(result) }
            return results
        }
        for (index, result) in results {
            report.services[index].probe = result
            if !result.ok {
                report.services[index].status = .unresponsive
                report.services[index].reason = "probe \(result.kind)://\(result.target) failed: \(result.detail)"
            }
        }
    }

    // MARK: - cgroup v2

    /// Where units' cgroups are: `/sys/fs/cgroup` itself on a pure cgroup v2 host; on a hybrid host (cgroup v1
    /// controllers, as on hosts booted with `systemd.unified_cgroup_hierarchy=0`) the v2 tree `unified/`, whose
    /// `cgroup.procs` and `cpu.stat` exist for every unit (there is no `memory.current`: memory is the processes' RSS);
    /// on a legacy v1 host systemd's own `systemd/` tree (processes only). Without either, the root as given.
    static func cgroupHierarchy(_ root: String) -> String {
        if access(root + "/cgroup.controllers", F_OK) == 0 { return root }
        if access(root + "/unified/cgroup.controllers", F_OK) == 0 { return root + "/unified" }
        if access(root + "/systemd/cgroup.procs", F_OK) == 0 { return root + "/systemd" }
        return root
    }

    /// PIDs of a cgroup and of its child cgroups (a service with `Delegate=yes` has sub-groups), at most 4 levels.
    static func cgroupProcesses(_ directory: String, depth: Int = 0) -> [Int] {
        var pids = (HostFile.readIfPresent(directory + "/cgroup.procs", limit: 1 << 20) ?? "").split(separator: "\n").compactMap { Int($0) }
        guard depth < 4, let names = try? HostFile.list(directory) else { return pids }
        for name in names where !name.contains(".") {
            var info = stat()
            let path = directory + "/" + name
            if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { pids += cgroupProcesses(path, depth: depth + 1) }
        }
        return pids
    }

    /// `usage_usec` of `cpu.stat`: CPU time of every process that ever ran in the cgroup, dead children included.
    static func cgroupCPUUsage(_ directory: String) -> UInt64? {
        guard let text = HostFile.readIfPresent(directory + "/cpu.stat", limit: 8192) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("usage_usec ") { return UInt64(line.dropFirst(11)) }
        return nil
    }

    /// `memory.current` minus the page cache (`file` of `memory.stat`): the memory the service itself holds.
    static func cgroupMemory(_ directory: String) -> UInt64? {
        guard let current = HostFile.readLine(directory + "/memory.current").flatMap({ UInt64($0) }) else { return nil }
        var file: UInt64 = 0
        if let text = HostFile.readIfPresent(directory + "/memory.stat", limit: 1 << 16) {
            for line in text.split(separator: "\n") where line.hasPrefix("file ") { file = UInt64(line.dropFirst(5)) ?? 0 }
        }
        return current >= file ? current - file : current
    }

    /// When a process started: boot time plus `starttime` ticks, exact to the tick (no floating-point residue). Both
    /// come from the kernel's files: absurd values saturate at the representable range, they never trap.
    static func startTime(bootTime: Double, startTicks: UInt64, ticksPerSecond: Double) -> Timestamp {
        let hz = ticksPerSecond.isFinite && ticksPerSecond >= 1 ? UInt64(min(ticksPerSecond, 1_000_000_000)) : 1
        let boot = bootTime.isFinite ? Int64(max(-1e13, min(1e13, bootTime))) : 0
        let (seconds, overflow) = boot.addingReportingOverflow(Int64(clamping: startTicks / hz))
        let nanoseconds = Int64(clamping: (startTicks % hz) * (1_000_000_000 / hz))
        return Timestamp(seconds: overflow ? Int64.max : seconds, nanoseconds: nanoseconds)
    }

    static func round2(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    // MARK: - Samples

    static func samples(_ report: ServicesReport) -> [MetricSample] {
        var samples: [MetricSample] = []
        for service in report.services {
            let label = [MetricLabel("service", service.name)]
            samples.append(MetricSample(MetricName.serviceUp, .gauge, service.status == .running ? 1 : 0, labels: label, help: "1 when the service is running and answers its probe"))
            for status in ServiceStatus.allCases {
                samples.append(
                    MetricSample(
                        MetricName.serviceState, .gauge, service.status == status ? 1 : 0, labels: label + [MetricLabel("state", status.rawValue)],
                        help: "1 for the service's current state (running, stopped, error, unresponsive, unknown)"))
            }
            samples.append(MetricSample(MetricName.serviceProcesses, .gauge, Double(service.processCount), labels: label, help: "Processes of the service"))
            if let cpu = service.cpuPercent {
                samples.append(MetricSample(MetricName.serviceCpuPercent, .gauge, cpu, labels: label, help: "Percent of one CPU used by the service over the last interval"))
            }
            if let memory = service.memoryBytes {
                samples.append(MetricSample(MetricName.serviceMemoryBytes, .gauge, Double(memory), labels: label, help: "Resident memory of the service"))
            }
            if let restarts = service.restarts {
                samples.append(MetricSample(MetricName.serviceRestartsTotal, .counter, Double(restarts), labels: label, help: "systemd NRestarts of the service's unit"))
            }
            if let since = service.since {
                samples.append(
                    MetricSample(MetricName.serviceStateChangeTimeSeconds, .gauge, since.secondsSinceEpoch, labels: label, help: "When the service entered its state"))
            }
            if let probe = service.probe {
                samples.append(MetricSample(MetricName.serviceProbeSuccess, .gauge, probe.ok ? 1 : 0, labels: label, help: "1 when the last probe of the service succeeded"))
                if let duration = probe.durationSeconds {
                    samples.append(MetricSample(MetricName.serviceProbeDurationSeconds, .gauge, duration, labels: label, help: "Duration of the last probe"))
                }
            }
        }
        return samples
    }
}

/// The process table indexed by parent, to find a service's main process and descendants.
struct ProcessTree {
    let table: ProcessTable
    private var indexByPID: [Int: Int] = [:]
    private var children: [Int: [Int]] = [:]

    init(_ table: ProcessTable) {
        self.table = table
        for (index, process) in table.processes.enumerated() {
            indexByPID[process.pid] = index
            children[process.ppid, default: []].append(index)
        }
    }

    /// The main process of a set of matches: among the matches whose parent is not a match, the oldest (by start time, then PID).
    func mainProcess(of matches: [Int]) -> Int? {
        let pids = Set(matches.map { table.processes[$0].pid })
        let roots = matches.filter { !pids.contains(table.processes[$0].ppid) }
        return roots.min { (table.processes[$0].startTicks, table.processes[$0].pid) < (table.processes[$1].startTicks, table.processes[$1].pid) }
    }

    /// The matches and all their descendants, each once.
    func members(of matches: [Int]) -> [Int] {
        var seen = Set<Int>()
        var stack = matches
        var result: [Int] = []
        while let index = stack.popLast() {
            guard seen.insert(index).inserted else { continue }
            result.append(index)
            stack += children[table.processes[index].pid] ?? []
        }
        return result.sorted()
    }
}
