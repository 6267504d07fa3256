//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Logging
import Subprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Why a plugin run ended. Each is the `last_error` the API shows.
public enum PluginRunError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The process ended on its own: `exited with status 1 before producing a valid line`.
    case exited(description: String)
    /// No hello within the timeout.
    case noHello(timeout: Duration)
    /// Poll mode: no reply to a collect within the timeout.
    case noReply(id: Int64, timeout: Duration)
    /// Stream mode: no valid line for 3 intervals.
    case silent(Duration)
    /// The plugin could not be started (not found, permission denied, bad user).
    case spawnFailed(String)

    public var description: String {
        switch self {
        case .exited(let description): description
        case .noHello(let timeout): "no hello within \(PluginHost.format(timeout)); stopped"
        case .noReply(let id, let timeout): "no reply to collect \(id) within \(PluginHost.format(timeout)); stopped"
        case .silent(let duration): "silent for \(PluginHost.format(duration)) (3 intervals); stopped"
        case .spawnFailed(let reason): "cannot start: \(reason)"
        }
    }
}

/// An end that restarting will not fix: the plugin stays `disabled` until enable or reload.
public struct PluginDisabled: DeliberateStop, Sendable, Hashable {
    public var reason: String
    /// The plugin asked for it (`disable`): an expected outcome on a host without what it watches, logged at notice
    /// rather than error.
    public var byPlugin = false
    public var description: String { reason }
}

extension PluginDisabled {
    /// The plugin's own `disable` message.
    init(ownRequest reason: String) {
        self.init(reason: "disabled at its own request: \(reason)", byPlugin: true)
    }
}

/// Something a host observed, for `viworks-agent plugin test`.
public enum PluginObservation: Sendable {
    case started(pid: Int32)
    case hello(HelloMessage, line: Int, after: Duration)
    case lineRejected(line: Int, LineRejection)
    case sampleRejected(line: Int, SampleRejection)
    case collectSent(id: Int64)
    case reply(id: Int64, line: Int, after: Duration, samples: Int)
    case metrics(line: Int, samples: Int)
    case log(level: String, message: String)
    case stderr(String)
    case ignored(line: Int, what: String)
    case ended(String)
}

/// Runs one plugin process at a time for the ``Supervisor``: spawns it with swift-subprocess (argv, no
/// shell), drains stdout and stderr concurrently, does the handshake, polls or watches the stream, and
/// ends the run (SIGTERM to the process group, a grace period, SIGKILL) when the plugin misbehaves.
/// Each run ends by throwing why; the supervisor restarts with backoff.
public actor PluginHost {
    public nonisolated let manifest: PluginManifest
    public nonisolated let handle: PluginHandle
    private let bus: MetricsBus
    private let logger: Logger
    private let agentVersion: String
    /// Time a plugin gets to exit after `shutdown` before SIGTERM.
    public nonisolated let shutdownWait: Duration
    /// Time between SIGTERM and SIGKILL.
    public nonisolated let grace: Duration
    /// Stop the run after this many replies (poll) or metrics messages (stream); nil runs forever.
    private let cycles: Int?
    private let observer: (@Sendable (PluginObservation) -> Void)?

    public init(
        manifest: PluginManifest, bus: MetricsBus, logger: Logger, agentVersion: String = "0.1.0", handle: PluginHandle? = nil,
        shutdownWait: Duration = .seconds(1), grace: Duration = .seconds(2), cycles: Int? = nil,
        observer: (@Sendable (PluginObservation) -> Void)? = nil
    ) {
        self.manifest = manifest
        self.handle = handle ?? PluginHandle(name: manifest.name)
        self.bus = bus
        var logger = logger
        logger[metadataKey: "plugin"] = "\(manifest.name)"
        self.logger = logger
        self.agentVersion = agentVersion
        self.shutdownWait = shutdownWait
        self.grace = grace
        self.cycles = cycles
        self.observer = observer
    }

    /// The ``SupervisedChild`` that runs this host under a ``Supervisor``.
    public nonisolated func supervisedChild() -> SupervisedChild {
        let restart = manifest.restart
        let policy = PluginRestartPolicy(
            base: ExponentialJitterRestartPolicy(
                initial: restart.backoffInitial, maximum: restart.backoffMax, maxAttempts: restart.maxRestarts, stableAfter: restart.stableAfter))
        return SupervisedChild(name: manifest.name, kind: "plugin", isCore: false, policy: policy) { child in
            try await self.run(child: child)
        }
    }

    // MARK: - One run

    /// Runs the plugin once, until it ends; always throws why it ended (or returns after `cycles`).
    public func run(child: ChildHandle?) async throws {
        let manifest = self.manifest
        child?.update {
            $0.intervalSeconds = manifest.interval.secondsDouble
            $0.timeoutSeconds = manifest.timeout.secondsDouble
        }
        let live = LiveState()
        let (events, continuation) = AsyncStream.makeStream(of: HostEvent.self, bufferingPolicy: .bufferingNewest(64))
        var options = PlatformOptions()
        options.createSession = true
        if geteuid() == 0 {
            do {
                if let user = manifest.user { options.userID = try UserAccounts.userID(user) }
                if let group = manifest.group { options.groupID = try UserAccounts.groupID(group) }
                if options.userID != nil, options.groupID == nil, let user = manifest.user { options.groupID = try UserAccounts.primaryGroup(of: user) }
            } catch {
                throw PluginRunError.spawnFailed(error.description)
            }
        }
        let reader = StdoutReader(
            manifest: manifest, handle: handle, bus: bus, logger: logger, live: live, events: continuation, observer: observer, cycles: cycles)
        let stderrReader = StderrReader(manifest: manifest, handle: handle, logger: logger, observer: observer)
        let controller = Controller(
            manifest: manifest, agentVersion: agentVersion, live: live, child: child, logger: logger, observer: observer, cycles: cycles)
        let shutdownWait = self.shutdownWait
        let grace = self.grace
        let startedAt = ContinuousClock.now
        let outcome: ExecutionResult<Ending, SequenceOutput, SequenceOutput>
        // Checked here because the wrapper of `launch` would otherwise report a missing plugin as its own exit status.
        if access(manifest.executable, X_OK) != 0 {
            let problem = String(cString: strerror(errno))
            continuation.finish()
            throw cannotStart("\(manifest.executable): \(problem)")
        }
        do {
            let (executable, arguments) = Self.launch(manifest)
            outcome = try await Subprocess.run(
                .path(FilePath(executable)), arguments: Arguments(arguments), environment: .custom(Self.environment(for: manifest)),
                workingDirectory: FilePath(manifest.workingDirectory), platformOptions: options, input: .inputWriter, output: .sequence, error: .sequence
            ) { execution in
                let pid = execution.processIdentifier.value
                self.handle.update { $0.processID = pid }
                self.observer?(.started(pid: pid))
                let writer = execution.standardInputWriter
                let ending = await withTaskGroup(of: Ending?.self) { group -> Ending in
                    group.addTask {
                        await reader.read(execution.standardOutput)
                        return .stdoutClosed
                    }
                    group.addTask {
                        await stderrReader.read(execution.standardError)
                        return nil
                    }
                    group.addTask {
                        do {
                            try await controller.control(writer: writer, events: events, ticks: continuation)
                            return .finishedCycles
                        } catch {
                            return .failed(error)
                        }
                    }
                    var ending = Ending.stdoutClosed
                    while let next = await group.next() {
                        if let next {
                            ending = next
                            break
                        }
                    }
                    // A plugin that sends `disable` and exits at once can close stdout before the controller has acted on
                    // the message: it is still the plugin's request, not an exit to restart.
                    if case .stdoutClosed = ending, let reason = live.disableRequest {
                        ending = .failed(PluginDisabled(ownRequest: reason))
                    }
                    continuation.finish()
                    // Stop the process: ask first when it is in a state to listen, then SIGTERM the group, then SIGKILL.
                    var steps: [TeardownStep] = []
                    if ending.asksToShutDown {
                        await Controller.send(writer, Wire.shutdown(reason: ending.shutdownReason), timeout: .milliseconds(500))
                        try? await writer.finish()
                        steps.append(.send(signal: Signal(rawValue: 0), toProcessGroup: false, allowedDurationToNextStep: shutdownWait))
                    }
                    steps.append(.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: grace))
                    await execution.teardown(using: steps)
                    // Whatever is left in the plugin's process group (a child it started) goes too.
                    _ = kill(-pid, SIGKILL)
                    group.cancelAll()
                    await group.waitForAll()
                    return ending
                }
                try? await writer.finish()
                return ending
            }
        } catch let error as SubprocessError {
            continuation.finish()
            throw cannotStart("\(error)")
        }
        // A run replaced by a newer one (reload, enable) shares the handle: leave the newer run's pid and exit alone.
        let pid = outcome.processIdentifier.value
        var current = false
        handle.update {
            if $0.processID == pid {
                $0.processID = nil
                current = true
            }
        }
        let ending = outcome.closureResult
        let status = Self.describe(outcome.terminationStatus)
        let ranFor = startedAt.duration(to: .now)
        let neverValid = !live.sawValidLine
        var description: String
        let failure: any Error
        switch ending {
        case _ where Task.isCancelled:
            description = "stopped by the agent (\(status))"
            failure = CancellationError()
        case .failed(let error as PluginDisabled):
            description = "\(error.reason) (\(status))"
            failure = error
        case .failed(let error as PluginRunError):
            description = "\(error) (\(status))"
            failure = error
        case .failed(let error):
            if Task.isCancelled || error is CancellationError {
                description = "stopped by the agent (\(status))"
                failure = CancellationError()
            } else {
                description = "\(error) (\(status))"
                failure = error
            }
        case .finishedCycles:
            description = "finished \(cycles ?? 0) cycles (\(status))"
            failure = CancellationError()
        case .stdoutClosed:
            description = status
            if neverValid { description += " before producing a valid line" }
            description += " after \(Self.format(ranFor))"
            let stderr = handle.snapshot.lastStderr
            if let last = stderr.last, !outcome.terminationStatus.isSuccess { description += "; last stderr: \(last.prefix(200))" }
            failure = PluginRunError.exited(description: description)
        }
        if current {
            handle.update {
                $0.lastExit = description
                $0.lastExitAt = .now()
            }
        }
        observer?(.ended(description))
        if case .finishedCycles = ending { return }
        // A plugin that is not running has no current values: its last set leaves /metrics (the next run brings a new one).
        if current { await bus.publish(MetricBatch(source: "plugin:\(manifest.name)", timestamp: .now(), samples: [])) }
        if failure is CancellationError {
            logger.debug("plugin stopped", metadata: ["exit": "\(description)"])
            throw failure
        }
        if let disabled = failure as? PluginDisabled {
            handle.update { $0.disabledReason = disabled.reason }
            logger.log(level: disabled.byPlugin ? .notice : .error, "plugin disabled: \(disabled.reason)")
        } else {
            logger.warning("plugin ended: \(description)", metadata: ["plugin.valid_lines": "\(handle.snapshot.validLines)"])
        }
        throw failure
    }

    /// Records that the plugin could not be started at all and returns the error that ends the run.
    private func cannotStart(_ reason: String) -> PluginRunError {
        handle.update {
            $0.lastExit = "cannot start: \(reason)"
            $0.lastExitAt = .now()
        }
        observer?(.ended("cannot start: \(reason)"))
        return PluginRunError.spawnFailed(reason)
    }

    enum Ending: Sendable {
        case stdoutClosed
        case failed(any Error)
        case finishedCycles

        var asksToShutDown: Bool {
            switch self {
            case .stdoutClosed: false
            case .finishedCycles: true
            case .failed(let error): error is PluginDisabled || error is CancellationError
            }
        }

        var shutdownReason: String {
            switch self {
            case .failed(let error as PluginDisabled): error.reason
            case .finishedCycles: "test finished"
            default: "agent stopping"
            }
        }
    }

    // MARK: - Helpers

    /// `setpriv`, which sets the parent-death signal and then executes the plugin in the same process.
    static let parentDeathWrapper = "/usr/bin/setpriv"

    /// The executable and arguments that start `manifest`'s plugin: through `setpriv --pdeathsig KILL` when it is
    /// installed, so that the kernel kills the plugin when the agent dies without stopping it (`kill -9`, a crash)
    /// instead of leaving an orphan behind for each agent restart. The signal is tied to the thread that spawned
    /// the plugin, and swift-subprocess spawns from one thread that lives as long as the agent.
    static func launch(_ manifest: PluginManifest) -> (executable: String, arguments: [String]) {
        guard access(parentDeathWrapper, X_OK) == 0 else { return (manifest.executable, manifest.arguments) }
        return (parentDeathWrapper, ["--pdeathsig", "KILL", "--", manifest.executable] + manifest.arguments)
    }

    static func environment(for manifest: PluginManifest) -> [Environment.Key: String] {
        var values: [String: String] = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/",
            "VIWORKS_PLUGIN_NAME": manifest.name, "VIWORKS_PLUGIN_MODE": manifest.mode.rawValue,
            "VIWORKS_PLUGIN_INTERVAL_MS": "\(Int64(manifest.interval.secondsDouble * 1000))",
            "VIWORKS_PLUGIN_PROTOCOL": "\(pluginProtocolVersion)", "PYTHONUNBUFFERED": "1",
        ]
        for (name, value) in manifest.environment { values[name] = value }
        var result: [Environment.Key: String] = [:]
        for (name, value) in values {
            if let key = Environment.Key(rawValue: name) { result[key] = value }
        }
        return result
    }

    static func describe(_ status: TerminationStatus) -> String {
        switch status {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "killed by signal \(signal) (\(signalName(signal)))"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGKILL: "SIGKILL"
        case SIGINT: "SIGINT"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGPIPE: "SIGPIPE"
        case SIGBUS: "SIGBUS"
        case SIGHUP: "SIGHUP"
        case SIGILL: "SIGILL"
        case SIGFPE: "SIGFPE"
        default: "signal \(signal)"
        }
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.secondsDouble
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\((seconds * 100).rounded() / 100)s"
    }

    /// Ignores SIGPIPE in the agent, so writing to a plugin that has exited fails with EPIPE instead of
    /// killing the agent. Plugins get default signal dispositions back (swift-subprocess resets them).
    public static func ignoreSIGPIPE() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}

/// A restart policy that does not restart a plugin that is disabled (its own request, a refused protocol).
struct PluginRestartPolicy: RestartPolicy {
    var base: ExponentialJitterRestartPolicy

    func shouldRestart(attempt: Int, error: (any Error)?) -> Bool {
        if error is PluginDisabled { return false }
        return base.shouldRestart(attempt: attempt, error: error)
    }

    func backoff(attempt: Int) -> Duration { base.backoff(attempt: attempt) }
    var stableAfter: Duration { base.stableAfter }
}

// MARK: - Shared run state

/// What the reader tells the controller.
enum HostEvent: Sendable {
    case hello(HelloMessage)
    case reply(id: Int64, line: Int, samples: Int)
    case disable(String)
    case metrics
    case tick
}

/// State of one run shared by the stdout reader and the controller.
final class LiveState: Sendable {
    private struct Values {
        var helloSeen = false
        var pendingID: Int64?
        var lastValidLine: ContinuousClock.Instant?
        var sawValidLine = false
        var disableRequest: String?
    }
    private let values = Mutex(Values())

    /// The reason of the plugin's `disable` message, once one was read.
    var disableRequest: String? {
        get { values.withLock { $0.disableRequest } }
        set { values.withLock { $0.disableRequest = newValue } }
    }

    var helloSeen: Bool { values.withLock { $0.helloSeen } }
    func markHello() -> Bool {
        values.withLock { v in
            defer { v.helloSeen = true }
            return !v.helloSeen
        }
    }
    var pendingID: Int64? {
        get { values.withLock { $0.pendingID } }
        set { values.withLock { $0.pendingID = newValue } }
    }
    /// Clears the pending id if it is `id`; true when it was.
    func takeReply(_ id: Int64) -> Bool {
        values.withLock { v in
            guard v.pendingID == id else { return false }
            v.pendingID = nil
            return true
        }
    }
    func markValid() {
        let now = ContinuousClock.now
        values.withLock {
            $0.lastValidLine = now
            $0.sawValidLine = true
        }
    }
    var lastValidLine: ContinuousClock.Instant? { values.withLock { $0.lastValidLine } }
    var sawValidLine: Bool { values.withLock { $0.sawValidLine } }
}

// MARK: - Wire lines the agent writes

enum Wire {
    static func config(manifest: PluginManifest, agentVersion: String) -> [UInt8] {
        line(
            "{\"type\":\"config\",\"protocol\":\(pluginProtocolVersion),\"agent_version\":\(JSONString.quote(agentVersion)),\"name\":\(JSONString.quote(manifest.name)),"
                + "\"mode\":\"\(manifest.mode.rawValue)\",\"interval_ms\":\(milliseconds(manifest.interval)),\"timeout_ms\":\(milliseconds(manifest.timeout)),"
                + "\"max_line_bytes\":\(manifest.maxLineBytes)}")
    }

    static func collect(id: Int64, deadline: Duration) -> [UInt8] {
        line("{\"type\":\"collect\",\"id\":\(id),\"deadline_ms\":\(milliseconds(deadline))}")
    }

    static func shutdown(reason: String) -> [UInt8] {
        line("{\"type\":\"shutdown\",\"reason\":\(JSONString.quote(reason))}")
    }

    static func milliseconds(_ duration: Duration) -> Int64 { Int64((duration.secondsDouble * 1000).rounded()) }

    private static func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }
}
