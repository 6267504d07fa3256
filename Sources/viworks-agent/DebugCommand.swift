//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import ArgumentParser
import Logging

/// `viworks-agent debug …`: hidden helpers for tests and troubleshooting.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Helpers for tests and troubleshooting.", shouldDisplay: false, subcommands: [LogTestCommand.self, HistoryStressCommand.self, HistoryCheckCommand.self, HistorySeedCommand.self]
    )
}

/// `viworks-agent debug log-test`: logs a fixed set of records through the real logging bootstrap, one per level, with
/// the metadata keys operators filter on, so a test can read them back from the journal or stderr.
struct LogTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log-test", abstract: "Log one record per level with known metadata.")

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "trace"

    @Option(name: .customLong("log-format"), help: "auto, journald, logfmt or json.")
    var logFormat: String = "auto"

    @Option(name: .long, help: "A marker put into every message, so a test finds its own records.")
    var tag: String = "log-test"

    func run() throws {
        var settings = LogSettings()
        settings.level = logLevel
        settings.format = logFormat
        LoggingBootstrap.bootstrap(settings)
        var logger = Logger(label: "viworks-agent.log-test")
        logger[metadataKey: "subsystem"] = "debug"
        for level in Logger.Level.allCases {
            logger.log(level: level, "\(tag) \(level.rawValue) record", metadata: ["level.name": "\(level.rawValue)"])
        }
        logger.info("\(tag) collector record", metadata: ["collector": "disk", "request.id": "req-42", "backoff-seconds": "1.5"])
        logger.info("\(tag) plugin record", metadata: ["plugin": "nginx", "message": "shadowed", "9lives": "x"])
        logger.info("\(tag) multi-line\nsecond line")
    }
}
