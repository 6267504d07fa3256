//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import Logging
import Synchronization

/// Who asks for a privileged action, as the HTTP layer authenticated it.
public struct Requester: Sendable, Hashable {
    /// API key name or JWT subject; nil for an anonymous caller (loopback without credentials) or the agent itself.
    public var name: String?
    public var role: String?
    public var clientAddress: String?
    public var requestID: String?

    public init(name: String? = nil, role: String? = nil, clientAddress: String? = nil, requestID: String? = nil) {
        self.name = name
        self.role = role
        self.clientAddress = clientAddress
        self.requestID = requestID
    }

    /// The agent acting on its own (auto-recovery).
    public static let agent = Requester(name: "viworks-agent", role: "agent")
}

/// A command run: its audit records and result; `result` is nil while an asynchronous job runs.
public struct CommandRun: Sendable, Hashable {
    public var jobID: String
    public var command: String
    public var argv: [String]
    public var auditID: Int64?
    public var startedAt: Timestamp
    public var result: CommandResult?
    public var endAuditID: Int64?

    /// Where a run stands, as `GET /api/v1/command/{id}` reports it.
    public enum Status: String, Sendable, Hashable {
        /// No result yet.
        case running
        /// It ended by itself, whatever its exit status.
        case completed
        /// It was killed before it ended: at its timeout, or because the agent shut down.
        case timedOut = "timed_out"
        /// It could not be started.
        case failed
    }

    public var status: Status {
        guard let result else { return .running }
        if result.launchError != nil { return .failed }
        if result.timedOut || result.cancelled { return .timedOut }
        return .completed
    }
}

/// Service actions through systemd.
public enum ServiceAction: String, Sendable, Hashable, CaseIterable {
    case start, stop, restart

    /// The `org.freedesktop.systemd1.Manager` method.
    public var method: String {
        switch self {
        case .start: "StartUnit"
        case .stop: "StopUnit"
        case .restart: "RestartUnit"
        }
    }
}

/// The outcome of a service action.
public struct ServiceActionResult: Sendable, Hashable {
    public var service: String
    public var unit: String
    public var action: ServiceAction
    /// The systemd job object path.
    public var job: String
    public var activeState: String
    public var subState: String
    public var mainPID: Int?
    /// True when the unit reached the expected state before the timeout.
    public var completed: Bool
    public var durationSeconds: Double
    public var auditID: Int64?
}

/// Why a service action was refused.
public struct ServiceActionError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No systemd on this host: 409.
        case noSystemd
        /// Unknown service: 404.
        case unknownService
        /// D-Bus said no (permission, unit not found, job failed): 502.
        case failed
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// The privileged operations of the API: allowlisted commands, service control, all of it written to the audit log
/// before it runs. The HTTP layer sees only this type (declared here, built by the executable).
public final class Operations: Sendable {
    public let audit: AuditLog?
    private let runner: CommandRunner
    private let catalog: @Sendable () -> CommandCatalog
    /// Service name → its systemd unit, from the last services collection (nil when unknown).
    private let unitOfService: @Sendable (String) -> String?
    private let systemd: (any SystemdUnitSource & SystemdUnitControl)?
    private let logger: Logger
    /// Where background runs go: a service that shutdown cancels (wire it among the agent's services).
    public let jobs: CommandJobs
    private let runs = Mutex<[String: CommandRun]>([:])
    private let jobOrder = Mutex<[String]>([])
    /// Finished jobs kept for `GET /api/v1/command/{id}` (running ones are always kept).
    public static let keptJobs = 200
    /// Output bytes of finished jobs kept in memory at most; the oldest finished jobs go first.
    public static let keptOutputBytes = 32 << 20
    /// Commands that may run at once; more are refused (429) rather than exhausting file descriptors and threads.
    public let maximumRunning: Int
    private let running = RunningCount()

    final class RunningCount: Sendable {
        let value = Atomic<Int>(0)
    }

    public init(
        audit: AuditLog?, catalog: @escaping @Sendable () -> CommandCatalog, unitOfService: @escaping @Sendable (String) -> String?,
        systemd: (any SystemdUnitSource & SystemdUnitControl)?, runner: CommandRunner = CommandRunner(), jobs: CommandJobs = CommandJobs(),
        maximumRunning: Int = 16, logger: Logger
    ) {
        self.jobs = jobs
        self.maximumRunning = maximumRunning
        self.audit = audit
        self.catalog = catalog
        self.unitOfService = unitOfService
        self.systemd = systemd
        self.runner = runner
        self.logger = logger
    }

    public var commandCatalog: CommandCatalog { catalog() }

    // MARK: - Commands

    /// Validates and audits a command, then runs it (to the end, or in the background when `background`).
    ///
    /// A background run is a job of ``jobs``: it starts once that service runs and is cancelled (process group killed,
    /// ``CommandRun/status`` `timedOut`, audit outcome `cancelled`) when the agent shuts down; the returned run has no
    /// result yet, ``job(_:)`` has it later.
    /// - Throws: ``CommandRejection`` before anything runs; ``AuditUnavailable`` when the start record cannot be written
    ///   (nothing runs without its audit record).
    public func runCommand(_ id: String, parameters: [String: String], principal: Requester, background: Bool) async throws -> CommandRun {
        let (definition, argv) = try catalog().argv(for: id, parameters: parameters)
        guard access(definition.executable, X_OK) == 0 else {
            throw CommandRejection(.unavailable, "command '\(id)' is not available on this host: \(definition.executable) is missing or not executable")
        }
        let counter = running
        guard counter.value.add(1, ordering: .relaxed).newValue <= maximumRunning else {
            counter.value.subtract(1, ordering: .relaxed)
            throw CommandRejection(.busy, "\(maximumRunning) commands are running already; try again when one has finished")
        }
        let start: AuditRecord?
        do {
            start = try record(
            AuditRecord(
                time: .now(), event: "command.start", principal: principal.name, role: principal.role, clientAddress: principal.clientAddress,
                requestID: principal.requestID, action: id, argv: argv, parameters: parameters))
        } catch {
            counter.value.subtract(1, ordering: .relaxed)
            throw error
        }
        let jobID = Self.newJobID()
        var run = CommandRun(jobID: jobID, command: id, argv: argv, auditID: start?.id, startedAt: .now(), result: nil, endAuditID: nil)
        remember(run)
        logger.notice("command started", metadata: ["command": "\(id)", "argv": "\(argv)", "audit.id": "\(start?.id ?? 0)", "principal": "\(principal.name ?? "-")"])
        // `started: false` records the run as cancelled without starting it (shutdown began).
        let work: @Sendable (_ started: Bool) async -> CommandRun = { [self, run] started in
            var run = run
            let result = started ? await runner.run(definition, argv: argv) : CommandResult.cancelled(argv: argv)
            counter.value.subtract(1, ordering: .relaxed)
            run.result = result
            let end = try? record(
                AuditRecord(
                    time: .now(), event: "command.end", principal: principal.name, role: principal.role, clientAddress: principal.clientAddress,
                    requestID: principal.requestID, action: id, outcome: result.outcome, exitCode: result.exitCode, durationSeconds: result.durationSeconds,
                    outputSHA256: AuditRecord.sha256(result.stdout + result.stderr), startID: start?.id))
            run.endAuditID = end?.id
            remember(run)
            logger.notice("command finished", metadata: ["command": "\(id)", "outcome": "\(result.outcome)", "audit.id": "\(end?.id ?? 0)"])
            return run
        }
        if background {
            if jobs.submit({ _ = await work(true) }) { return run }
            // Shutdown began: the job is not started, and recorded (result and audit end) as cancelled.
            return await work(false)
        }
        run = await work(true)
        return run
    }

    /// A command run by its job id (running or finished), or nil.
    public func job(_ id: String) -> CommandRun? { runs.withLock { $0[id] } }

    private func remember(_ run: CommandRun) {
        runs.withLock { jobs in
            jobs[run.jobID] = run
            jobOrder.withLock { order in
                if !order.contains(run.jobID) { order.append(run.jobID) }
                // Evict the oldest finished jobs while there are too many or their output is too large; a running job stays.
                var finished = order.filter { jobs[$0]?.result != nil }
                var bytes = finished.reduce(0) { $0 + (jobs[$1]?.result.map { $0.stdout.count + $0.stderr.count } ?? 0) }
                while !finished.isEmpty, finished.count > Self.keptJobs || bytes > Self.keptOutputBytes {
                    let oldest = finished.removeFirst()
                    bytes -= jobs[oldest]?.result.map { $0.stdout.count + $0.stderr.count } ?? 0
                    jobs[oldest] = nil
                    order.removeAll { $0 == oldest }
                }
            }
        }
    }

    static func newJobID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Hex.encode(bytes)
    }

    /// Appends to the audit log; without one (disabled) returns nil. A write failure refuses the action.
    @discardableResult
    public func record(_ record: AuditRecord) throws -> AuditRecord? {
        guard let audit else { return nil }
        do {
            return try audit.append(record)
        } catch {
            logger.error("audit log write failed", metadata: ["error": "\(error)", "event": "\(record.event)"])
            throw AuditUnavailable(reason: "\(error)")
        }
    }

    // MARK: - Services

    /// Starts, stops or restarts a tracked service's unit and waits (up to `timeout`) for it to settle.
    public func serviceAction(
        _ action: ServiceAction, service: String, principal: Requester, timeout: Duration = .seconds(30), event: String = "service"
    ) async throws -> ServiceActionResult {
        // An unknown name is a 404 whether or not systemd runs here.
        guard let unit = unitOfService(service) else { throw ServiceActionError(.unknownService, "no tracked service named \(CommandCatalog.shortened(service))") }
        guard let systemd else { throw ServiceActionError(.noSystemd, "systemd is not running on this host: services cannot be controlled") }
        let start = try record(
            AuditRecord(
                time: .now(), event: "\(event).start", principal: principal.name, role: principal.role, clientAddress: principal.clientAddress,
                requestID: principal.requestID, action: "\(action.rawValue) \(service)", parameters: ["service": service, "unit": unit]))
        let started = ContinuousClock.now
        var outcome = "ok"
        defer {
            _ = try? record(
                AuditRecord(
                    time: .now(), event: "\(event).end", principal: principal.name, role: principal.role, clientAddress: principal.clientAddress,
                    requestID: principal.requestID, action: "\(action.rawValue) \(service)", outcome: outcome,
                    durationSeconds: (ContinuousClock.now - started).secondsDouble, startID: start?.id))
        }
        do {
            let before = try await systemd.unitDetails(unit)
            let job = try await systemd.unitJob(action.method, unit: unit, mode: "replace")
            var details = before
            var completed = false
            while ContinuousClock.now - started < timeout {
                try? await Task.sleep(for: .milliseconds(100))
                details = try await systemd.unitDetails(unit)
                let changed = details.stateChangeTimestampMicroseconds != before.stateChangeTimestampMicroseconds || details.mainPID != before.mainPID
                switch action {
                case .stop: completed = ["inactive", "failed"].contains(details.activeState)
                case .start: completed = ["active", "failed"].contains(details.activeState)
                case .restart: completed = changed && ["active", "failed"].contains(details.activeState)
                }
                if completed { break }
            }
            if !completed { outcome = "timeout: \(details.activeState)/\(details.subState)" }
            if details.activeState == "failed" { outcome = "unit failed (\(details.result ?? "unknown"))" }
            return ServiceActionResult(
                service: service, unit: unit, action: action, job: job, activeState: details.activeState, subState: details.subState,
                mainPID: details.mainPID > 0 ? details.mainPID : nil, completed: completed, durationSeconds: (ContinuousClock.now - started).secondsDouble,
                auditID: start?.id)
        } catch {
            outcome = "failed: \(error)"
            throw ServiceActionError(.failed, "\(action.method) \(unit): \(error)")
        }
    }
}

/// The audit log could not record an action, so the action did not run.
public struct AuditUnavailable: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { "the audit log cannot be written (\(reason)); nothing was run" }
}

/// Jobs on units (start, stop, restart) through systemd.
public protocol SystemdUnitControl: Sendable {
    func unitJob(_ method: String, unit: String, mode: String) async throws(SystemdBusError) -> String
}

extension SystemdBus: SystemdUnitControl {}
