//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import AgentServer
import ArgumentParser
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `collect --json [--root DIR]...`: one-shot collection, for scripts, fixtures and bug reports.
struct CollectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Collect once and print JSON shaped like /api/v1/status's system_health and system_info.",
        discussion: """
            With no --root, collects the live host (CPU % and rates over --window). With --root given N times \
            (each a directory holding proc/, sys/ and etc/), treats them as N successive samples of one host \
            and prints one JSON line per sample; rates start from the second sample, timed by each sample's proc/uptime.
            """
    )

    @Flag(name: .long, help: "Print JSON (the only format).")
    var json = false

    @Option(name: .long, help: "A captured host tree; repeat for successive samples.")
    var root: [String] = []

    @Option(name: .long, help: "Live mode: seconds between the two readings that CPU % and rates are computed from.")
    var window: Double = 0.5

    @OptionGroup var options: ConfigOptions

    func validate() throws {
        guard window.isFinite, window >= 0.05, window <= 60 else {
            throw ValidationError("--window must be between 0.05 and 60 seconds, got \(window)")
        }
    }

    func run() async throws {
        var configuration: AgentConfiguration
        do {
            configuration = try options.load(environment: ProcessEnvironment.current)
        } catch {
            for issue in error.issues { printError("error: \(issue)") }
            throw ExitCode(78)
        }
        var logger = Logger(label: "viworks-agent.collect") { label in LineLogHandler(label: label, format: .logfmt, level: .warning) }
        logger.logLevel = .warning
        let collectors = Agent.enabledCollectors(configuration).map(\.collector)
        if root.isEmpty {
            var snapshot = AgentSnapshot(sectionKeys: CollectorCatalog.systemInfoSectionKeys)
            _ = await Self.collect(collectors, paths: configuration.paths, monotonic: MonotonicClock.bootTimeSeconds(), logger: logger)
            try await Task.sleep(for: .milliseconds(Int64(window * 1000)))
            for batch in await Self.collect(collectors, paths: configuration.paths, monotonic: MonotonicClock.bootTimeSeconds(), logger: logger) {
                snapshot.apply(batch)
            }
            Self.emit(try APIDocuments.collectDocument(snapshot))
            return
        }
        var snapshot = AgentSnapshot(sectionKeys: CollectorCatalog.systemInfoSectionKeys)
        for directory in root {
            let paths = HostPaths(fixtureRoot: directory)
            guard let uptime = HostFile.readLine(paths.proc("uptime")).flatMap({ $0.split(separator: " ").first }).flatMap({ Double($0) }) else {
                printError("error: \(paths.proc("uptime")): missing or unreadable; every --root needs proc/uptime to time its rates")
                throw ExitCode(1)
            }
            for batch in await Self.collect(collectors, paths: paths, monotonic: uptime, logger: logger) { snapshot.apply(batch) }
            Self.emit(try APIDocuments.collectDocument(snapshot))
        }
    }

    /// Runs every collector once; failures are reported on stderr and leave their section null.
    static func collect(_ collectors: [any Collector], paths: HostPaths, monotonic: Double, logger: Logger) async -> [MetricBatch] {
        let context = CollectorContext(paths: paths, logger: logger, timestamp: .now(), monotonicSeconds: monotonic)
        var batches: [MetricBatch] = []
        for collector in collectors {
            do {
                let output = try await collector.collect(context)
                batches.append(MetricBatch(source: collector.descriptor.id, timestamp: context.timestamp, samples: output.samples, report: output.report))
            } catch CollectorError.noData {
                continue
            } catch {
                printError("warning: collector \(collector.descriptor.id): \(error)")
            }
        }
        return batches
    }

    static func emit(_ bytes: [UInt8]) {
        var line = bytes
        line.append(0x0A)
        HostFile.writeAll(1, line)
    }
}
