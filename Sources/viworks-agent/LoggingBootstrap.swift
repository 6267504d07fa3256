//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Logging

/// The one place that calls `LoggingSystem.bootstrap`.
enum LoggingBootstrap {
    /// Where log records go.
    enum Destination: String {
        /// Native journal entries (`sd_journal_sendv`), with metadata as fields.
        case journald
        /// logfmt lines on stderr.
        case logfmt
        /// JSON lines on stderr.
        case json
    }

    /// `[log] format` (or `--log-format`): `journald`, `logfmt` and `json` are taken as they are; `auto` means journald
    /// when stderr is connected to the journal (`JOURNAL_STREAM` names stderr's device and inode, as systemd sets it
    /// for `StandardError=journal`), else logfmt.
    static func destination(format: String, environment: [String: String]) -> Destination {
        switch format {
        case "journald": return .journald
        case "json": return .json
        case "logfmt": return .logfmt
        default: return JournaldLogHandler.isConnectedToJournal(journalStream: environment["JOURNAL_STREAM"]) ? .journald : .logfmt
        }
    }

    /// Bootstraps logging once; returns the level control a reload changes.
    ///
    /// When journald is chosen but its socket cannot be reached (a container, a host without systemd), records go to
    /// stderr as logfmt instead, and one warning says why: `sd_journal_sendv` would otherwise drop every record.
    @discardableResult
    static func bootstrap(
        _ settings: LogSettings, environment: [String: String] = ProcessEnvironment.current,
        journalSocketPath: String = JournaldLogHandler.journalSocketPath
    ) -> LogLevelControl {
        let control = LogLevelControl(Logger.Level(rawValue: settings.level) ?? .info)
        let chosen = destination(format: settings.format, environment: environment)
        let unreachableJournal = chosen == .journald ? JournaldLogHandler.journalSocketProblem(socketPath: journalSocketPath) : nil
        let destination: Destination = unreachableJournal == nil ? chosen : .logfmt
        LoggingSystem.bootstrap { label in
            let handler: any LogHandler
            switch destination {
            case .journald: handler = JournaldLogHandler(label: label, level: .trace)
            case .logfmt: handler = LineLogHandler(label: label, format: .logfmt, level: .trace)
            case .json: handler = LineLogHandler(label: label, format: .json, level: .trace)
            }
            return LevelControlledLogHandler(handler, control: control)
        }
        if let unreachableJournal {
            Logger(label: "viworks-agent").warning(
                "the journal is not reachable: logging to stderr in logfmt instead",
                metadata: ["log.format": "\(settings.format)", "journal": "\(unreachableJournal)"])
        }
        return control
    }
}
