//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentPlugins
import AgentRuntime
import ArgumentParser
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `viworks-agent plugin …`: tools for plugin authors.
struct PluginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin", abstract: "Tools for plugin authors (docs/plugin-protocol.md).", subcommands: [PluginTestCommand.self])
}

/// `viworks-agent plugin test <manifest.toml | executable> [--cycles N]`.
struct PluginTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run one plugin outside the agent for a few cycles and say exactly what is wrong with it.",
        discussion: """
            Prints the handshake, every rejected line with its line number and reason, each reply's time against the \
            timeout, and the samples of the last reply as the agent would store them (name, labels, value, kind, help \
            with the unit). Exits 1 on any protocol error, 2 when a plugin that is otherwise clean asks to be disabled \
            (the agent would show it disabled with the reason and not restart it), 0 when the plugin is clean.
              viworks-agent plugin test plugins.d/example.toml
              viworks-agent plugin test ./my-plugin.py --mode stream --interval 1s -- --verbose
            """)

    /// The interval of a poll plugin's test cycles unless `--interval` is given: the shortest a manifest may set.
    static let backToBack: Duration = .milliseconds(100)

    @Argument(help: "A manifest (*.toml) or an executable.")
    var target: String

    @Option(help: "Collections (poll) or metrics messages (stream) to wait for.")
    var cycles: Int = 3

    @Option(help: "Override the mode: poll or stream (default: the manifest's, else poll).")
    var mode: String?

    @Option(help: "Wait this long between cycles, e.g. 30s (default: a poll plugin's cycles run back to back; a stream plugin keeps the manifest's interval).")
    var interval: String?

    @Option(help: "Override the timeout, e.g. 5s.")
    var timeout: String?

    @Argument(parsing: .postTerminator, help: "Arguments for an executable given directly (after --).")
    var arguments: [String] = []

    func run() async throws {
        guard cycles >= 1 else { throw ValidationError("--cycles must be at least 1") }
        var manifest = try loadManifest()
        if let mode {
            guard let parsed = PluginMode(rawValue: mode) else { throw ValidationError("--mode must be poll or stream") }
            manifest.mode = parsed
        }
        var pace = ""
        if let interval {
            guard let parsed = Duration(parsing: interval), parsed >= .milliseconds(100) else { throw ValidationError("--interval: expected a duration such as 1s") }
            manifest.interval = parsed
        } else if manifest.mode == .poll && manifest.interval > Self.backToBack {
            // The cycles run back to back: a test of a 30 s plugin takes seconds, not minutes.
            pace = " (the agent collects every \(format(manifest.interval)); --interval to wait that long here)"
            manifest.interval = Self.backToBack
        }
        if let timeout {
            guard let parsed = Duration(parsing: timeout), parsed >= .milliseconds(10) else { throw ValidationError("--timeout: expected a duration such as 5s") }
            manifest.timeout = parsed
        }
        say("plugin \(manifest.name): \(([manifest.executable] + manifest.arguments).joined(separator: " "))")
        say("  mode \(manifest.mode.rawValue), interval \(format(manifest.interval))\(pace), timeout \(format(manifest.timeout)), max line \(manifest.maxLineBytes) bytes, \(cycles) cycles")
        let report = Report(timeout: manifest.timeout)
        PluginHost.ignoreSIGPIPE()
        let bus = MetricsBus()
        // The newest two batches: the last reply's, and the empty one that takes a failed run's samples out of /metrics.
        let batches = await bus.subscribe(name: "plugin-test", bufferingNewest: 2)
        let host = PluginHost(
            manifest: manifest, bus: bus, logger: Logger(label: "plugin-test") { _ in SwiftLogNoOpLogHandler() },
            agentVersion: AgentCommand.version, cycles: cycles, observer: { report.observe($0) })
        let limit = manifest.timeout + (manifest.interval + manifest.timeout) * cycles + .seconds(5)
        var failure: String?
        var disabled: String?
        do {
            try await withDeadline(limit, clock: ContinuousClock()) { try await host.run(child: nil) }
        } catch let error as PluginDisabled {
            disabled = error.reason
        } catch let error as PluginRunError {
            failure = error.description
        } catch {
            failure = "\(error)"
        }
        await bus.finish()
        var tail: [MetricBatch] = []
        for await batch in batches { tail.append(batch) }
        let problems = report.finish(failure: failure, disabled: disabled, batches: tail)
        if problems > 0 {
            say("FAIL: \(problems) problem\(problems == 1 ? "" : "s")")
            throw ExitCode(1)
        }
        if disabled != nil {
            say("DISABLED: the agent would show this plugin disabled with that reason and not restart it")
            throw ExitCode(2)
        }
        say("OK")
    }

    private func loadManifest() throws -> PluginManifest {
        let loader = PluginManifestLoader(defaults: PluginDefaults(interval: .seconds(1)))
        let result: Result<PluginManifest, ConfigError>
        if target.hasSuffix(".toml") {
            result = loader.load(file: target)
        } else {
            var buffer = [CChar](repeating: 0, count: 4096)
            let found = getcwd(&buffer, buffer.count) != nil
            let cwd = found ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "."
            let argv = ([target.contains("/") ? target : "./" + target] + arguments).map { "\"" + $0.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\"" }
            let name = String(target.split(separator: "/").last ?? "plugin").filter { $0.isLetter || $0.isNumber || "_.-".contains($0) }
            let text = "name = \"\(name.isEmpty ? "plugin" : name)\"\ncommand = [\(argv.joined(separator: ", "))]\n"
            result = loader.parse(text: text, file: cwd + "/(command line)")
        }
        switch result {
        case .success(let manifest): return manifest
        case .failure(let error):
            // A manifest's problems name its file and line; an executable given directly has no file, so they name the key.
            for issue in error.issues { printError(target.hasSuffix(".toml") ? "error: \(issue)" : "error: \(target): \(issue.key): \(issue.message)") }
            throw ExitCode(1)
        }
    }
}

/// Prints observations as they come and counts the problems.
private final class Report: Sendable {
    private struct State {
        var problems = 0
        var hello: HelloMessage?
        var collectSentAt: [Int64: ContinuousClock.Instant] = [:]
        var slowest: Duration = .zero
        var samples = 0
        var replies = 0
        var started = ContinuousClock.now
        var endedAt: Timestamp?
    }
    private let state = Mutex(State())
    private let timeout: Duration

    init(timeout: Duration) {
        self.timeout = timeout
    }

    func observe(_ observation: PluginObservation) {
        let now = ContinuousClock.now
        state.withLock { s in
            switch observation {
            case .started(let pid):
                s.started = now
                say("  started, pid \(pid)")
            case .hello(let hello, let line, let after):
                s.hello = hello
                let ok = hello.protocolVersion == pluginProtocolVersion
                if !ok { s.problems += 1 }
                say("\(ok ? "ok  " : "FAIL") line \(line): hello after \(format(after)): protocol \(hello.protocolVersion)\(hello.version.map { ", version \($0)" } ?? "")")
            case .lineRejected(let line, let rejection):
                s.problems += 1
                say("FAIL line \(line): \(rejection.reason.rawValue): \(rejection.detail)")
            case .sampleRejected(let line, let rejection):
                s.problems += 1
                say("FAIL line \(line): sample \(rejection.index) rejected: \(rejection.reason.rawValue): \(rejection.detail)")
            case .collectSent(let id):
                s.collectSentAt[id] = now
            case .reply(let id, let line, _, let samples):
                let took = s.collectSentAt[id].map { $0.duration(to: now) } ?? .zero
                s.slowest = max(s.slowest, took)
                s.samples += samples
                s.replies += 1
                let share = Int((took.secondsDouble / max(timeout.secondsDouble, 1e-9) * 100).rounded())
                say("ok   line \(line): reply to collect \(id) in \(format(took)) (\(share)% of the \(format(timeout)) timeout), \(samples) samples")
            case .metrics(let line, let samples):
                s.samples += samples
                s.replies += 1
                say("ok   line \(line): metrics, \(samples) samples")
            case .log(let level, let message):
                say("     log \(level): \(message)")
            case .stderr(let text):
                say("     stderr: \(text)")
            case .ignored(let line, let what):
                say("note line \(line): ignored \(what) (unknown to protocol \(pluginProtocolVersion))")
            case .ended(let how):
                s.endedAt = .now()
                say("  ended: \(how)")
            }
        }
    }

    /// Prints the summary and the last reply's samples, as the agent stores them (the newest of `batches`, the run's
    /// last batches, that was not published after the run ended); returns the number of problems. `disabled`: why the
    /// run ended in `disabled` (the plugin's own request, a refused protocol).
    func finish(failure: String?, disabled: String?, batches: [MetricBatch]) -> Int {
        state.withLock { s in
            if s.hello == nil {
                s.problems += 1
                say("FAIL no hello: the first line must be {\"type\":\"hello\",\"protocol\":\(pluginProtocolVersion)}")
            }
            if let failure {
                s.problems += 1
                say("FAIL \(failure)")
            }
            if let disabled { say("note \(disabled)") }
            var batches = batches
            if let final = batches.last, final.samples.isEmpty, let ended = s.endedAt, final.timestamp >= ended { batches.removeLast() }
            if s.replies > 0, let last = batches.last?.samples {
                say("samples of the last \(s.collectSentAt.isEmpty ? "metrics message" : "reply"), as the agent stores them (\(last.count)):")
                for sample in last { say("  " + sampleLine(sample)) }
                // Samples the exposition would leave out of /metrics (a duplicate series, a kind or label-name conflict).
                for rejected in PrometheusExposition.render(last).rejected {
                    s.problems += 1
                    say("FAIL left out of /metrics: \(rejected)")
                }
            }
            say("summary: \(s.replies) replies, \(s.samples) samples, slowest reply \(format(s.slowest)) of \(format(timeout))")
            return s.problems
        }
    }
}

/// One stored sample on one line: `name{label="value",…} value  # kind; help`. The unit is in the help text
/// (`… Unit: bytes.`), where the agent keeps it.
private func sampleLine(_ sample: MetricSample) -> String {
    var line = sample.name
    if !sample.labels.isEmpty {
        let labels = sample.labels.map { label in
            let value = label.value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
            return "\(label.name)=\"\(value)\""
        }
        line += "{" + labels.joined(separator: ",") + "}"
    }
    let value = sample.value
    let integral = value == value.rounded() && abs(value) < 1e15
    line += " " + (integral ? String(Int64(value)) : "\(value)")
    line += "  # \(sample.kind.rawValue)"
    if !sample.help.isEmpty { line += "; \(sample.help)" }
    return line
}

/// Writes `line` and a newline to standard output at once, unbuffered: a pipe or a file sees each line as it is said, not
/// when a buffer fills or the command ends.
private func say(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = write(STDOUT_FILENO, base + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}

private func format(_ duration: Duration) -> String {
    let seconds = duration.secondsDouble
    if seconds < 0.01 { return "\((seconds * 10_000).rounded() / 10)ms" }
    if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
    if seconds == seconds.rounded() { return "\(Int(seconds))s" }
    return "\((seconds * 100).rounded() / 100)s"
}
