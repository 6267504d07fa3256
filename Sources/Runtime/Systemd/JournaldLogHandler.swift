//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import CSystemd
public import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Writes each log record as a native journal entry with `sd_journal_sendv_with_location(3)`, so that
/// `journalctl -u viworks-agent COLLECTOR=disk` or `PLUGIN=nginx` select the records of one collector or plugin.
///
/// Fields of every entry:
/// - `MESSAGE=` the message; `PRIORITY=` from the level: trace and debug → 7, info → 6, notice → 5,
///   warning → 4, error → 3, critical → 2;
/// - `SYSLOG_IDENTIFIER=viworks-agent`, `LOGGER=` the logger's label;
/// - `CODE_FILE=`, `CODE_LINE=`, `CODE_FUNC=` where the record was logged (`CODE_FILE` is the `#fileID`,
///   e.g. `AgentRuntime/Supervisor.swift`);
/// - every metadata key (the handler's, the metadata provider's, then the record's, later ones winning) as an
///   upper-case field named by ``fieldName(_:)``: `collector` → `COLLECTOR=`, `plugin` → `PLUGIN=`,
///   `request.id` → `REQUEST_ID=`; `ERROR=` for an error attached to the record unless metadata has one.
///
/// If the journal cannot be reached (`sd_journal_sendv` fails), the record is written to stderr as logfmt
/// instead, so nothing is lost silently. `sd_journal_sendv` reports success when the journal's socket does not
/// exist at all, so choose this handler only when ``journalSocketProblem(socketPath:)`` finds the socket.
///
/// ```swift
/// LoggingSystem.bootstrap { label in JournaldLogHandler(label: label, level: .info) }
/// ```
public struct JournaldLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let identifier: String

    /// - Parameters:
    ///   - label: the logger's label, sent as `LOGGER=`.
    ///   - identifier: `SYSLOG_IDENTIFIER=`.
    ///   - level: the minimum level logged.
    ///   - metadataProvider: merged into every record.
    public init(
        label: String, identifier: String = "viworks-agent", level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.identifier = identifier
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = mergedMetadata(event)
        let message = "\(event.message)"
        var fields = [
            "MESSAGE=\(message)", "PRIORITY=\(Self.priority(event.level))", "SYSLOG_IDENTIFIER=\(identifier)", "LOGGER=\(label)",
        ]
        var named: Set<String> = []
        for key in all.keys.sorted() {
            guard let value = all[key], let name = Self.fieldName(key), named.insert(name).inserted else { continue }
            fields.append("\(name)=\(value)")
        }
        if let error = event.error, !named.contains("ERROR") { fields.append("ERROR=\(error)") }
        let result = Self.send(fields, file: event.file, line: event.line, function: event.function)
        if result < 0 {
            var line = LineLogHandler.format(
                .logfmt, timestamp: .now(), level: event.level, label: label, message: message, metadata: all, source: event.source
            )
            line += "\n"
            let bytes = Array(line.utf8)
            bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
        }
    }

    // MARK: - Mapping

    /// The syslog priority of a swift-log level.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Fields the handler sets itself; metadata keys mapping to them get a `META_` prefix.
    static let reservedFields: Set<String> = [
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "SYSLOG_PID", "SYSLOG_TIMESTAMP", "LOGGER",
        "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ERRNO", "TID", "INVOCATION_ID", "USER_INVOCATION_ID",
    ]

    /// The journal field name of a metadata key: ASCII letters upper-cased, `.`, `-` and spaces become `_`, any other
    /// character is dropped, leading underscores (reserved for trusted fields) are removed, a leading digit gets an
    /// `F_` prefix, a name the handler sets itself (`MESSAGE`, `PRIORITY`, `CODE_*`, …) a `META_` prefix, and the
    /// result is cut at 64 characters. Returns nil when nothing is left.
    ///
    /// `collector` → `COLLECTOR`, `request.id` → `REQUEST_ID`, `backoff-seconds` → `BACKOFF_SECONDS`, `message` → `META_MESSAGE`.
    public static func fieldName(_ key: String) -> String? {
        var name = ""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "a"..."z": name.unicodeScalars.append(Unicode.Scalar(scalar.value - 32) ?? scalar)
            case "A"..."Z", "0"..."9", "_": name.unicodeScalars.append(scalar)
            case ".", "-", " ": name.append("_")
            default: continue
            }
        }
        while name.hasPrefix("_") { name.removeFirst() }
        guard let first = name.unicodeScalars.first else { return nil }
        if ("0"..."9").contains(first) { name = "F_" + name }
        if reservedFields.contains(name) { name = "META_" + name }
        return String(name.prefix(64))
    }

    // MARK: - Sending

    /// Sends one entry; returns `sd_journal_sendv_with_location`'s result (negative errno on failure).
    static func send(_ fields: [String], file: String, line: UInt, function: String) -> Int32 {
        // One contiguous buffer holding every field; the iovecs point into it.
        var buffer: [UInt8] = []
        var ranges: [(offset: Int, count: Int)] = []
        for field in fields {
            ranges.append((buffer.count, field.utf8.count))
            buffer.append(contentsOf: field.utf8)
        }
        return buffer.withUnsafeMutableBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -EINVAL }
            var vectors = ranges.map { iovec(iov_base: base + $0.offset, iov_len: $0.count) }
            return vectors.withUnsafeMutableBufferPointer { iov in
                sd_journal_sendv_with_location("CODE_FILE=\(file)", "CODE_LINE=\(line)", function, iov.baseAddress, Int32(iov.count))
            }
        }
    }

    // MARK: - Detection

    /// Where journald receives native entries.
    public static let journalSocketPath = "/run/systemd/journal/socket"

    /// Why native entries cannot reach the journal — e.g. `/run/systemd/journal/socket: No such file or directory`
    /// — or nil when a datagram socket connects to `socketPath`. (`sd_journal_sendv` returns success without
    /// sending anything when the socket is missing, so this must be checked before choosing journald.)
    public static func journalSocketProblem(socketPath: String = journalSocketPath) -> String? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return "\(socketPath): path too long" }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.enumerated() { raw[index] = byte }
            raw[path.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "\(socketPath): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0 ? nil : "\(socketPath): \(String(cString: strerror(errno)))"
    }

    /// True when `journalStream` (the value of `JOURNAL_STREAM`, `<device>:<inode>`) names the file behind
    /// `fileDescriptor`: systemd connected that descriptor (stderr by default) to the journal.
    public static func isConnectedToJournal(journalStream: String?, fileDescriptor: Int32 = 2) -> Bool {
        guard let journalStream else { return false }
        let parts = journalStream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(fileDescriptor, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }
}
