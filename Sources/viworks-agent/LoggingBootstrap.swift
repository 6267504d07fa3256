//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Logging

/// The one place that calls `LoggingSystem.bootstrap`.
enum LoggingBootstrap {
    static func bootstrap(_ settings: LogSettings) {
        let level = Logger.Level(rawValue: settings.level) ?? .info
        let format: LineLogHandler.Format = settings.format == "json" ? .json : .logfmt
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format, level: level) }
    }
}
