//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Writes one line per log record to stderr, as logfmt (`ts=… level=info msg="…" collector=cpu`) or as a JSON object.
///
/// Each line goes out in a single `write(2)`, so lines from concurrent tasks never interleave.
public struct LineLogHandler: LogHandler {
    public enum Format: Sendable {
        case logfmt
        case json
    }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: Format
    private let fileDescriptor: Int32

    public init(label: String, format: Format, level: Logger.Level = .info, fileDescriptor: Int32 = 2) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.fileDescriptor = fileDescriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = mergedMetadata(event)
        let line = Self.format(
            format, timestamp: .now(), level: event.level, label: label, message: "\(event.message)", metadata: all,
            source: event.source
        )
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        HostFile.writeAll(fileDescriptor, bytes)
    }

    static func format(
        _ format: Format, timestamp: Timestamp, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, source: String
    ) -> String {
        switch format {
        case .logfmt:
            var line = "ts=\(timestamp.rfc3339) level=\(level.rawValue) msg=\(logfmtValue(message))"
            for key in metadata.keys.sorted() {
                guard let value = metadata[key] else { continue }
                line += " \(logfmtKey(key))=\(logfmtValue("\(value)"))"
            }
            return line
        case .json:
            var line = "{\"ts\":\(JSONString.quote(timestamp.rfc3339)),\"level\":\(JSONString.quote(level.rawValue)),\"logger\":\(JSONString.quote(label)),"
            line += "\"msg\":\(JSONString.quote(message))"
            for key in metadata.keys.sorted() {
                guard let value = metadata[key] else { continue }
                line += ",\(JSONString.quote(key)):\(JSONString.quote("\(value)"))"
            }
            return line + "}"
        }
    }

    static func logfmtKey(_ key: String) -> String {
        String(key.unicodeScalars.map { scalar -> Character in
            scalar == " " || scalar == "=" || scalar == "\"" || scalar.value < 0x20 ? "_" : Character(scalar)
        })
    }

    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.value < 0x20 }
        guard needsQuotes else { return value }
        return JSONString.quote(value)
    }
}
