//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Subprocess
import Synchronization

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// What one command run produced.
public struct CommandResult: Sendable, Hashable {
    public var argv: [String]
    /// The exit status when the process exited; nil when a signal ended it or it never started.
    public var exitCode: Int?
    /// The signal that ended it (9 after a timeout).
    public var signal: Int?
    public var timedOut: Bool
    public var durationSeconds: Double
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// True when the stream had more than the command's `maxOutputBytes` (the rest was read and dropped).
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool
    /// Set when it could not be started (missing executable, unknown user).
    public var launchError: String?
    /// True when it was cancelled (the agent shut down): its process group was killed, or it never started.
    public var cancelled: Bool

    public init(
        argv: [String], exitCode: Int?, signal: Int?, timedOut: Bool, durationSeconds: Double, stdout: [UInt8], stderr: [UInt8], stdoutTruncated: Bool,
        stderrTruncated: Bool, launchError: String? = nil, cancelled: Bool = false
    ) {
        self.cancelled = cancelled
        self.argv = argv
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.durationSeconds = durationSeconds
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.launchError = launchError
    }

    /// The result of a run cancelled before it started: no process, no output.
    public static func cancelled(argv: [String]) -> CommandResult {
        CommandResult(
            argv: argv, exitCode: nil, signal: nil, timedOut: false, durationSeconds: 0, stdout: [], stderr: [], stdoutTruncated: false, stderrTruncated: false,
            cancelled: true)
    }

    /// `ok`, `exit 3`, `signal 9`, `timeout`, `cancelled`, `failed: …` for the audit log.
    public var outcome: String {
        if let launchError { return "failed: \(launchError)" }
        if timedOut { return "timeout" }
        if cancelled { return "cancelled" }
        if let signal { return "signal \(signal)" }
        if let exitCode { return exitCode == 0 ? "ok" : "exit \(exitCode)" }
        return "unknown"
    }
}

/// Runs an argv directly (no shell) with swift-subprocess: absolute executable, a fixed minimal environment, `/` as the
/// working directory, no stdin, its own session and process group (a timeout kills the whole group), optional user and
/// group, stdout and stderr each capped (the excess is read and dropped, so the child never blocks on a full pipe).
public struct CommandRunner: Sendable {
    /// The only environment a command gets.
    public static let environment: [String: String] = [
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0",
        "TERM": "dumb",
    ]

    public init() {}

    /// Runs `argv` to its end or its deadline. Cancelling the calling task kills the process group at once; the result
    /// then has ``CommandResult/cancelled`` set (and nothing is started when the task is cancelled already).
    public func run(_ definition: CommandDefinition, argv: [String]) async -> CommandResult {
        let started = ContinuousClock.now
        func elapsed() -> Double { (ContinuousClock.now - started).secondsDouble }
        guard !Task.isCancelled else { return .cancelled(argv: argv) }
        guard let executable = argv.first, executable.hasPrefix("/") else {
            return CommandResult(argv: argv, exitCode: nil, signal: nil, timedOut: false, durationSeconds: 0, stdout: [], stderr: [], stdoutTruncated: false,
                stderrTruncated: false, launchError: "the executable must be an absolute path")
        }
        var options = PlatformOptions()
        options.createSession = true
        // On cancellation the whole group goes, as at the deadline.
        options.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(500))]
        do {
            if let user = definition.user { options.userID = try UserAccounts.userID(user) }
            if let group = definition.group { options.groupID = try UserAccounts.groupID(group) }
            if options.userID != nil, options.groupID == nil, let user = definition.user { options.groupID = try UserAccounts.primaryGroup(of: user) }
            if options.userID != nil || options.groupID != nil { options.supplementaryGroups = [] }
        } catch {
            return CommandResult(argv: argv, exitCode: nil, signal: nil, timedOut: false, durationSeconds: 0, stdout: [], stderr: [], stdoutTruncated: false,
                stderrTruncated: false, launchError: error.description)
        }
        var environment: [Environment.Key: String] = [:]
        for (name, value) in Self.environment { if let key = Environment.Key(rawValue: name) { environment[key] = value } }
        let cap = definition.maxOutputBytes
        let timeout = definition.timeout
        let timedOut = TimeoutFlag()
        do {
            let killer = DeadlineKiller()
            let outcome = try await Subprocess.run(
                .path(FilePath(executable)), arguments: Arguments(Array(argv.dropFirst())), environment: .custom(environment), workingDirectory: FilePath("/"),
                platformOptions: options, input: .none, output: .sequence, error: .sequence
            ) { execution in
                // The deadline covers the process's whole life, not only its output: a command that closes stdout and
                // stderr and keeps running is still killed (with its whole process group) when the time is up.
                killer.arm(processGroup: execution.processIdentifier.value, after: timeout, flag: timedOut)
                async let out = Self.capture(execution.standardOutput, cap: cap, stream: 1)
                async let err = Self.capture(execution.standardError, cap: cap, stream: 2)
                return await (out, err)
            }
            killer.disarm()
            let (out, err) = outcome.closureResult
            var exitCode: Int?
            var signal: Int?
            switch outcome.terminationStatus {
            case .exited(let code): exitCode = Int(code)
            case .signaled(let code): signal = Int(code)
            }
            // Whatever is left of the group after the main process ended (a background child) is killed too.
            _ = kill(-outcome.processIdentifier.value, SIGKILL)
            return CommandResult(
                argv: argv, exitCode: exitCode, signal: signal, timedOut: timedOut.fired.load(ordering: .relaxed), durationSeconds: elapsed(), stdout: out.bytes,
                stderr: err.bytes, stdoutTruncated: out.truncated, stderrTruncated: err.truncated, cancelled: Task.isCancelled)
        } catch where Task.isCancelled {
            return CommandResult(argv: argv, exitCode: nil, signal: nil, timedOut: false, durationSeconds: elapsed(), stdout: [], stderr: [], stdoutTruncated: false,
                stderrTruncated: false, cancelled: true)
        } catch {
            return CommandResult(argv: argv, exitCode: nil, signal: nil, timedOut: false, durationSeconds: elapsed(), stdout: [], stderr: [], stdoutTruncated: false,
                stderrTruncated: false, launchError: "\(error)")
        }
    }

    final class TimeoutFlag: Sendable {
        let fired = Atomic<Bool>(false)
    }

    /// Kills a process group when its deadline passes, unless disarmed first.
    final class DeadlineKiller: Sendable {
        private let task = Mutex<Task<Void, Never>?>(nil)

        func arm(processGroup: pid_t, after timeout: Duration, flag: TimeoutFlag) {
            let timer = Task {
                try? await Task.sleep(for: timeout)
                guard !Task.isCancelled else { return }
                flag.fired.store(true, ordering: .relaxed)
                _ = kill(-processGroup, SIGKILL)
            }
            task.withLock { $0 = timer }
        }

        func disarm() {
            task.withLock { $0?.cancel() }
        }
    }

    struct Captured: Sendable {
        var stream: Int
        var bytes: [UInt8] = []
        var truncated = false
    }

    static func capture(_ output: SubprocessOutputSequence, cap: Int, stream: Int) async -> Captured {
        var captured = Captured(stream: stream)
        do {
            for try await buffer in output {
                buffer.withUnsafeBytes { bytes in
                    let room = cap - captured.bytes.count
                    if room >= bytes.count {
                        captured.bytes.append(contentsOf: bytes)
                    } else {
                        if room > 0 { captured.bytes.append(contentsOf: bytes.prefix(room)) }
                        captured.truncated = true
                    }
                }
            }
        } catch {}
        return captured
    }
}
