//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging
import Synchronization

/// The agent-wide log level, changeable while the agent runs (a SIGHUP reload applies `[log] level`).
///
/// Loggers are values: a level set on one is copied, not shared. Handlers made by ``LevelControlledLogHandler``
/// read this control on every check instead, unless code set a level on its own logger.
public final class LogLevelControl: Sendable {
    private let current: Mutex<Logger.Level>

    public init(_ level: Logger.Level) {
        current = Mutex(level)
    }

    public var level: Logger.Level {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}

/// Wraps a handler so that its level follows a ``LogLevelControl``.
///
/// ```swift
/// let control = LogLevelControl(.info)
/// LoggingSystem.bootstrap { label in LevelControlledLogHandler(LineLogHandler(label: label, format: .logfmt), control: control) }
/// control.level = .debug   // every logger now logs debug records
/// ```
public struct LevelControlledLogHandler: LogHandler {
    private var wrapped: any LogHandler
    private let control: LogLevelControl
    /// A level set on this logger (`logger.logLevel = …`) wins over the control.
    private var ownLevel: Logger.Level?

    public init(_ wrapped: any LogHandler, control: LogLevelControl) {
        self.wrapped = wrapped
        self.control = control
    }

    public var logLevel: Logger.Level {
        get { ownLevel ?? control.level }
        set { ownLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        wrapped.log(event: event)
    }
}
