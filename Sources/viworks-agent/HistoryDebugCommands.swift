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
