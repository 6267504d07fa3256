//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import ArgumentParser
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `viworks-agent debug history-stress --path FILE`: writes synthetic series into a history database as fast as
/// it can, flushing every few milliseconds, until it is killed. The crash test kills it with SIGKILL at random moments.
struct HistoryStressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history-stress", abstract: "Write history as fast as possible until killed.")

    @Option(name: .long, help: "The database file.")
    var path: String

    @Option(name: .long, help: "Series written per round.")
    var series: Int = 200

    @Option(name: .long, help: "Rounds between flushes.")
    var roundsPerFlush: Int = 20

    func run() async throws {
        let database = try HistoryDatabase(path: path)
        let store = HistoryStore(database: database)
        var settings = HistorySettings()
        settings.retention = .seconds(3600)
        let logger = Logger(label: "history-stress")
        let writer = HistoryWriter(store: store, bus: nil, settings: settings, clock: ContinuousClock(), logger: logger)
        let keys = (0..<series).map { SeriesKey(name: "stress_\($0 % 10)", labels: [MetricLabel("n", "\($0)")]) }
        // Continue after what earlier (killed) runs wrote, so blocks keep their order.
        var time = Timestamp.now().nanosecondsSinceEpoch / 1_000_000
        var round = 0
        var announced = false
        while true {
            time += 1000
            for (index, key) in keys.enumerated() {
                writer.record(HistorySample(milliseconds: time, value: Double((round * 31 + index) % 1000) / 10), series: key)
            }
            round += 1
            if round % roundsPerFlush == 0 {
                try await writer.flush()
                if round % (roundsPerFlush * 50) == 0 { try await writer.applyRetention() }
                if !announced {
                    announced = true
                    let line = Array("ready\n".utf8)
                    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                }
            }
        }
    }
}

/// `viworks-agent debug history-check --path FILE`: opens (and migrates) the database, runs
/// `PRAGMA integrity_check`, decodes every block; prints `ok <series> <blocks> <samples>` and exits 0, or the problem and 1.
struct HistoryCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history-check", abstract: "Check a history database.")

    @Option(name: .long, help: "The database file.")
    var path: String

    func run() async throws {
        let database = try HistoryDatabase(path: path)
        let integrity = try database.integrityCheck()
        guard integrity == "ok" else {
            print("integrity_check: \(integrity)")
            throw ExitCode(1)
        }
        let store = HistoryStore(database: database)
        var samples = 0
        var corrupt = 0
        let series = try await store.series()
        for item in series {
            let result = try await store.samples(series: item.id, from: .min, to: .max)
            samples += result.samples.count
            corrupt += result.corruptBlocks
        }
        let blocks = try await store.blockStatistics().blocks
        guard corrupt == 0 else {
            print("corrupt blocks: \(corrupt)")
            throw ExitCode(1)
        }
        print("ok \(series.count) \(blocks) \(samples)")
    }
}

/// `viworks-agent debug history-seed --path FILE --name NAME [--label k=v]... --from S --to S --step S --start V --per-day D`:
/// writes one series of a straight line into a history database (raw samples and their rollups), for tests that need
/// days of history: the value at time t is `start + per-day · (t − from) / 86400`, one sample every `step` seconds
/// from `from + offset`. Prints `seeded <samples>`.
struct HistorySeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history-seed", abstract: "Write a linear series into a history database.")

    @Option(name: .long, help: "The database file.")
    var path: String

    @Option(name: .long, help: "The series name.")
    var name: String

    @Option(name: .long, help: "A label as name=value (repeatable).")
    var label: [String] = []

    @Option(name: .long, help: "Unix seconds of the line's origin.")
    var from: Int64

    @Option(name: .long, help: "Unix seconds after which no sample is written.")
    var to: Int64

    @Option(name: .long, help: "Seconds between samples.")
    var step: Int64 = 300

    @Option(name: .long, help: "Seconds after `from` of the first sample.")
    var offset: Int64 = 0

    @Option(name: .long, help: "The value at `from`.")
    var start: Double

    @Option(name: .customLong("per-day"), help: "Growth per day.")
    var perDay: Double = 0

    func run() async throws {
        guard step > 0, to >= from else { throw ValidationError("--step must be positive and --to at or after --from") }
        var labels: [MetricLabel] = []
        for text in label {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { throw ValidationError("--label expects name=value, got \(text)") }
            labels.append(MetricLabel(String(text[..<equals]), String(text[text.index(after: equals)...])))
        }
        let store = HistoryStore(database: try HistoryDatabase(path: path))
        let writer = HistoryWriter(store: store, bus: nil, settings: HistorySettings(), clock: ContinuousClock(), logger: Logger(label: "history-seed"))
        let key = SeriesKey(name: name, labels: labels)
        var count = 0
        var time = from + offset
        while time <= to {
            writer.record(HistorySample(milliseconds: time * 1000, value: start + perDay * Double(time - from) / 86_400), series: key)
            count += 1
            time += step
            if count % 10_000 == 0 { try await writer.flush() }
        }
        try await writer.flush()
        print("seeded \(count)")
    }
}
