//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// The protocol major version this agent speaks (docs/plugin-protocol.md).
public let pluginProtocolVersion = 1

/// A message from a plugin, decoded from one line of its stdout.
public enum PluginMessage: Sendable {
    case hello(HelloMessage)
    case metrics(MetricsMessage)
    case service(ServiceMessage)
    case log(LogMessage)
    /// The plugin asks to be switched off.
    case disable(reason: String)
    /// A message of a type this agent does not know: ignored and counted.
    case unknown(type: String)

    /// The `type` member.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .metrics: "metrics"
        case .service: "service"
        case .log: "log"
        case .disable: "disable"
        case .unknown(let type): type
        }
    }
}

/// `{"type":"hello","protocol":1,"name":…,"version":…}`.
public struct HelloMessage: Sendable, Hashable {
    public var protocolVersion: Int
    public var name: String?
    public var version: String?

    public init(protocolVersion: Int, name: String? = nil, version: String? = nil) {
        self.protocolVersion = protocolVersion
        self.name = name
        self.version = version
    }
}

/// `{"type":"metrics","id":…,"timestamp_ms":…,"samples":[…]}` with its valid samples and the rejected ones.
public struct MetricsMessage: Sendable {
    public var id: Int64?
    public var timestampMilliseconds: Int64?
    public var samples: [MetricSample]
    public var rejectedSamples: [SampleRejection]

    public init(id: Int64?, timestampMilliseconds: Int64?, samples: [MetricSample], rejectedSamples: [SampleRejection]) {
        self.id = id
        self.timestampMilliseconds = timestampMilliseconds
        self.samples = samples
        self.rejectedSamples = rejectedSamples
    }
}

/// A sample dropped from a `metrics` message, with why.
public struct SampleRejection: Sendable, Hashable, CustomStringConvertible {
    /// 0-based position in `samples`.
    public var index: Int
    public var reason: SampleRejection.Reason
    public var detail: String

    public enum Reason: String, Sendable, Hashable, CaseIterable {
        case invalidSample = "invalid_sample"
        case invalidName = "invalid_name"
        case reservedName = "reserved_name"
        case invalidValue = "invalid_value"
        case nonFiniteValue = "non_finite_value"
        case invalidKind = "invalid_kind"
        case negativeCounter = "negative_counter"
        case invalidLabel = "invalid_label"
        case invalidTimestamp = "invalid_timestamp"
        /// A new series beyond the plugin's `max_series`.
        case seriesLimit = "series_limit"
    }

    public init(index: Int, reason: SampleRejection.Reason, detail: String) {
        self.index = index
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "sample \(index): \(reason.rawValue): \(detail)" }
}

/// `{"type":"service","name":…,"state":…,"message":…}`.
public struct ServiceMessage: Sendable, Hashable {
    public var name: String
    public var state: String
    public var message: String?

    public init(name: String, state: String, message: String? = nil) {
        self.name = name
        self.state = state
        self.message = message
    }

    public static let states: Set<String> = ["active", "inactive", "failed", "activating", "deactivating", "unknown"]
}

/// `{"type":"log","level":…,"message":…}`.
public struct LogMessage: Sendable, Hashable {
    public var level: String
    public var message: String

    public init(level: String, message: String) {
        self.level = level
        self.message = message
    }
}

/// Why a whole line was rejected.
public struct LineRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: LineRejection.Reason
    public var detail: String

    public init(_ reason: LineRejection.Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public enum Reason: String, Sendable, Hashable, CaseIterable {
        case lineTooLong = "line_too_long"
        case invalidUTF8 = "invalid_utf8"
        case invalidJSON = "invalid_json"
        case notAnObject = "not_an_object"
        case missingType = "missing_type"
        case invalidMessage = "invalid_message"
        case beforeHello = "before_hello"
        case duplicateHello = "duplicate_hello"
        case unexpectedID = "unexpected_id"
        case missingID = "missing_id"
        /// `timestamp_ms` outside [now − history retention, now + 5 minutes].
        case invalidTimestamp = "invalid_timestamp"
        /// `timestamp_ms` older than the newest one the plugin sent before.
        case outOfOrder = "out_of_order"
        /// More lines in one second than the manifest's `max_messages_per_second`: dropped unread.
        case rateLimited = "rate_limited"
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}

/// A decoded line: the message and how many unknown members it carried (ignored and counted).
public struct DecodedLine: Sendable {
    public var message: PluginMessage
    public var ignoredFields: Int
}
