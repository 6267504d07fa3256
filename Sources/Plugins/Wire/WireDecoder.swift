//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// Decodes one line of plugin output into a ``PluginMessage`` (docs/plugin-protocol.md, sections 1 and 3).
///
/// Each line is decoded on its own: a bad line throws a ``LineRejection`` with a precise reason and never
/// affects the next one. In a `metrics` message, each invalid sample is dropped with its own reason
/// (``SampleRejection``) and the valid ones are kept.
///
/// ```swift
/// let decoder = WireDecoder(pluginName: "nginx")
/// let decoded = try line.withUnsafeBytes { try decoder.decode($0) }
/// ```
public struct WireDecoder: Sendable {
    /// Added as the `plugin` label of every sample; nil adds none.
    public var pluginName: String?
    /// Most samples in one `metrics` message.
    public var maximumSamples = 10_000
    /// Most labels on one sample.
    public var maximumLabels = 32
    public var maximumNameLength = 200
    public var maximumLabelValueLength = 1024

    public init(pluginName: String? = nil) {
        self.pluginName = pluginName
    }

    /// Decodes one line (without its `\n`).
    /// - Throws: ``LineRejection`` when the line is not valid UTF-8, not a JSON object, has no `type`, or
    ///   a known message is malformed.
    public func decode(_ line: UnsafeRawBufferPointer) throws(LineRejection) -> DecodedLine {
        guard Self.isValidUTF8(line) else { throw LineRejection(.invalidUTF8, "the line is not valid UTF-8") }
        do {
            return try decodeObject(line)
        } catch let error as LineRejection {
            throw error
        } catch let error as JSONSyntaxError {
            throw LineRejection(.invalidJSON, "\(error.message) at byte \(error.offset + 1)")
        } catch let error as MessageError {
            throw LineRejection(.invalidMessage, error.message)
        } catch {
            throw LineRejection(.invalidJSON, "\(error)")
        }
    }

    private func decodeObject(_ line: UnsafeRawBufferPointer) throws -> DecodedLine {
        var reader = JSONReader(line)
        guard reader.peek() == 0x7B else {
            if reader.peek() == nil { throw LineRejection(.invalidJSON, "empty line") }
            // Tell apart valid JSON that is not an object from text that is not JSON at all.
            var probe = reader
            if (try? probe.skipValue()) != nil, probe.isAtEnd { throw LineRejection(.notAnObject, "a JSON value that is not an object") }
            throw LineRejection(.invalidJSON, "\(Self.preview(line)) is not JSON")
        }
        let decoded: DecodedLine
        // Fast path: "type" first, as every example writes it.
        var first = true
        var lookahead = reader
        try lookahead.beginObject()
        if let key = try lookahead.nextKey(first: &first), lookahead.equals(key, "type"), try lookahead.kind() == .string {
            let type = lookahead.string(try lookahead.readRawString())
            decoded = try decodeMembers(type: type, reader: &lookahead, first: false)
        } else {
            let type = try Self.findType(reader)
            try reader.beginObject()
            decoded = try decodeMembers(type: type, reader: &reader, first: true)
            lookahead = reader
        }
        guard lookahead.isAtEnd else { throw lookahead.error("data after the object") }
        return decoded
    }

    /// Decodes a line held in an array (tests, the `plugin test` command).
    public func decode(_ line: [UInt8]) throws(LineRejection) -> DecodedLine {
        let result = line.withUnsafeBytes { buffer in Result { () throws(LineRejection) -> DecodedLine in try decode(buffer) } }
        return try result.get()
    }

    // MARK: - Messages

    /// The string value of the top-level `type` member, found by skipping the others.
    private static func findType(_ original: JSONReader) throws -> String {
        var reader = original
        try reader.beginObject()
        var first = true
        var type: String?
        while let key = try reader.nextKey(first: &first) {
            if reader.equals(key, "type"), try reader.kind() == .string {
                type = reader.string(try reader.readRawString())
            } else {
                try reader.skipValue(depth: 1)
            }
        }
        guard let type else { throw LineRejection(.missingType, "no string member \"type\"") }
        return type
    }

    /// Reads the remaining members of a message of `type` (the reader is inside the object).
    private func decodeMembers(type: String, reader: inout JSONReader, first: Bool) throws -> DecodedLine {
        switch type {
        case "hello": return try decodeHello(&reader, first: first)
        case "metrics": return try decodeMetrics(&reader, first: first)
        case "service": return try decodeService(&reader, first: first)
        case "log": return try decodeLog(&reader, first: first)
        case "disable": return try decodeDisable(&reader, first: first)
        default:
            var first = first
            while try reader.nextKey(first: &first) != nil { try reader.skipValue(depth: 1) }
            return DecodedLine(message: .unknown(type: String(type.prefix(64))), ignoredFields: 0)
        }
    }

    /// A known message with a wrong member.
    private struct MessageError: Error {
        var message: String
    }

    private func decodeHello(_ reader: inout JSONReader, first: Bool) throws -> DecodedLine {
        var first = first
        var version: Int?
        var name: String?
        var pluginVersion: String?
        var ignored = 0
        while let key = try reader.nextKey(first: &first) {
            if reader.equals(key, "protocol") {
                guard try reader.kind() == .number else { throw MessageError(message: "hello: protocol must be an integer") }
                let value = try reader.readNumber()
                guard value.isFinite, value == value.rounded(), abs(value) < 1e9 else {
                    throw MessageError(message: "hello: protocol must be an integer")
                }
                version = Int(value)
            } else if reader.equals(key, "name") {
                name = try optionalString(&reader, "hello: name")
            } else if reader.equals(key, "version") {
                pluginVersion = try optionalString(&reader, "hello: version")
            } else if reader.equals(key, "type") {
                try reader.skipValue(depth: 1)
            } else {
                ignored += 1
                try reader.skipValue(depth: 1)
            }
        }
        guard let version else { throw MessageError(message: "hello: protocol is missing") }
        return DecodedLine(message: .hello(HelloMessage(protocolVersion: version, name: name, version: pluginVersion)), ignoredFields: ignored)
    }

    private func decodeService(_ reader: inout JSONReader, first: Bool) throws -> DecodedLine {
        var first = first
        var name: String?
        var state: String?
        var message: String?
        var ignored = 0
        while let key = try reader.nextKey(first: &first) {
            if reader.equals(key, "name") {
                name = try optionalString(&reader, "service: name")
            } else if reader.equals(key, "state") {
                state = try optionalString(&reader, "service: state")
            } else if reader.equals(key, "message") {
                message = try optionalString(&reader, "service: message")
            } else if reader.equals(key, "type") {
                try reader.skipValue(depth: 1)
            } else {
                ignored += 1
                try reader.skipValue(depth: 1)
            }
        }
        guard let name, !name.isEmpty, name.utf8.count <= 256 else { throw MessageError(message: "service: name must be a string of 1 to 256 bytes") }
        guard let state, ServiceMessage.states.contains(state) else {
            throw MessageError(message: "service: state must be one of \(ServiceMessage.states.sorted().joined(separator: ", "))")
        }
        return DecodedLine(message: .service(ServiceMessage(name: name, state: state, message: message.map { String($0.prefix(1024)) })), ignoredFields: ignored)
    }

    private func decodeLog(_ reader: inout JSONReader, first: Bool) throws -> DecodedLine {
        var first = first
        var level = "info"
        var message: String?
        var ignored = 0
        while let key = try reader.nextKey(first: &first) {
            if reader.equals(key, "level") {
                level = try optionalString(&reader, "log: level") ?? "info"
            } else if reader.equals(key, "message") {
                message = try optionalString(&reader, "log: message")
            } else if reader.equals(key, "type") {
                try reader.skipValue(depth: 1)
            } else {
                ignored += 1
                try reader.skipValue(depth: 1)
            }
        }
        guard let message else { throw MessageError(message: "log: message must be a string") }
        return DecodedLine(message: .log(LogMessage(level: level, message: message)), ignoredFields: ignored)
    }

    private func decodeDisable(_ reader: inout JSONReader, first: Bool) throws -> DecodedLine {
        var first = first
        var reason: String?
        var ignored = 0
        while let key = try reader.nextKey(first: &first) {
            if reader.equals(key, "reason") {
                reason = try optionalString(&reader, "disable: reason")
            } else if reader.equals(key, "type") {
                try reader.skipValue(depth: 1)
            } else {
                ignored += 1
                try reader.skipValue(depth: 1)
            }
        }
        return DecodedLine(message: .disable(reason: String((reason ?? "no reason given").prefix(1024))), ignoredFields: ignored)
    }

    private func optionalString(_ reader: inout JSONReader, _ what: String) throws -> String? {
        switch try reader.kind() {
        case .string: return reader.string(try reader.readRawString())
        case .null:
            try reader.readNull()
            return nil
        default: throw MessageError(message: "\(what) must be a string")
        }
    }

    private func integer(_ reader: inout JSONReader, _ what: String) throws -> Int64? {
        switch try reader.kind() {
        case .number:
            let value = try reader.readNumber()
            guard value.isFinite, value == value.rounded(), abs(value) < 9e15 else { throw MessageError(message: "\(what) must be an integer") }
            return Int64(value)
        case .null:
            try reader.readNull()
            return nil
        default: throw MessageError(message: "\(what) must be an integer")
        }
    }

    // MARK: - Metrics

    private func decodeMetrics(_ reader: inout JSONReader, first: Bool) throws -> DecodedLine {
        var first = first
        var id: Int64?
        var timestamp: Int64?
        var samples: [MetricSample] = []
        var rejected: [SampleRejection] = []
        var sawSamples = false
        var ignored = 0
        while let key = try reader.nextKey(first: &first) {
            if reader.equals(key, "samples") {
                guard try reader.kind() == .array else { throw MessageError(message: "metrics: samples must be an array") }
                sawSamples = true
                try reader.beginArray()
                var firstElement = true
                var index = 0
                while try reader.nextElement(first: &firstElement) {
                    guard index < maximumSamples else { throw MessageError(message: "metrics: more than \(maximumSamples) samples") }
                    do {
                        samples.append(try decodeSample(&reader, ignored: &ignored))
                    } catch let rejection as SampleFailure {
                        rejected.append(SampleRejection(index: index, reason: rejection.reason, detail: rejection.detail))
                        if !rejection.consumed { try reader.skipValue(depth: 2) }
                    }
                    index += 1
                }
            } else if reader.equals(key, "id") {
                id = try integer(&reader, "metrics: id")
            } else if reader.equals(key, "timestamp_ms") {
                timestamp = try integer(&reader, "metrics: timestamp_ms")
                if let timestamp, timestamp < 0 { throw MessageError(message: "metrics: timestamp_ms must not be negative") }
            } else if reader.equals(key, "type") {
                try reader.skipValue(depth: 1)
            } else {
                ignored += 1
                try reader.skipValue(depth: 1)
            }
        }
        guard sawSamples else { throw MessageError(message: "metrics: samples is missing") }
        let message = MetricsMessage(id: id, timestampMilliseconds: timestamp, samples: samples, rejectedSamples: rejected)
        return DecodedLine(message: .metrics(message), ignoredFields: ignored)
    }

    /// A sample that is dropped; `consumed` tells whether the reader already passed its value.
    private struct SampleFailure: Error {
        var reason: SampleRejection.Reason
        var detail: String
        var consumed: Bool
    }

    private func decodeSample(_ reader: inout JSONReader, ignored: inout Int) throws -> MetricSample {
        guard try reader.kind() == .object else {
            throw SampleFailure(reason: .invalidSample, detail: "a sample must be an object", consumed: false)
        }
        try reader.beginObject()
        var first = true
        var name: String?
        var value: Double?
        var kind = MetricKind.gauge
        var unit: String?
        var help: String?
        var labels: [MetricLabel] = []
        // The first problem found; the rest of the object is still read so the array goes on.
        var failure: SampleFailure?
        func fail(_ reason: SampleRejection.Reason, _ detail: String) {
            if failure == nil { failure = SampleFailure(reason: reason, detail: detail, consumed: true) }
        }
        while let key = try reader.nextKey(first: &first) {
            if reader.equals(key, "name") {
                guard try reader.kind() == .string else {
                    fail(.invalidName, "name must be a string")
                    try reader.skipValue(depth: 3)
                    continue
                }
                let raw = try reader.readRawString()
                let text = reader.string(raw)
                if !Self.isValidMetricName(text, maximumLength: maximumNameLength) {
                    fail(.invalidName, "\(Self.quoted(text)) is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*, at most \(maximumNameLength) bytes)")
                } else if text.hasPrefix("viworks_") {
                    fail(.reservedName, "\(Self.quoted(text)): the viworks_ prefix is reserved for the agent")
                }
                name = text
            } else if reader.equals(key, "value") {
                guard try reader.kind() == .number else {
                    fail(.invalidValue, "value must be a number")
                    try reader.skipValue(depth: 3)
                    continue
                }
                let number = try reader.readNumber()
                if !number.isFinite { fail(.nonFiniteValue, "value is \(number.isNaN ? "NaN" : number > 0 ? "+Inf" : "-Inf")") }
                value = number
            } else if reader.equals(key, "kind") {
                guard try reader.kind() == .string else {
                    fail(.invalidKind, "kind must be \"gauge\" or \"counter\"")
                    try reader.skipValue(depth: 3)
                    continue
                }
                let raw = try reader.readRawString()
                if reader.equals(raw, "gauge") {
                    kind = .gauge
                } else if reader.equals(raw, "counter") {
                    kind = .counter
                } else {
                    fail(.invalidKind, "kind must be \"gauge\" or \"counter\", got \(Self.quoted(reader.string(raw)))")
                }
            } else if reader.equals(key, "labels") {
                switch try reader.kind() {
                case .null: try reader.readNull()
                case .object:
                    try reader.beginObject()
                    var firstLabel = true
                    while let labelKey = try reader.nextKey(first: &firstLabel) {
                        let labelName = reader.string(labelKey)
                        guard try reader.kind() == .string else {
                            fail(.invalidLabel, "label \(Self.quoted(labelName)) must have a string value")
                            try reader.skipValue(depth: 4)
                            continue
                        }
                        let raw = try reader.readRawString()
                        if !Self.isValidLabelName(labelName) || labelName.hasPrefix("__") {
                            fail(.invalidLabel, "\(Self.quoted(labelName)) is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)")
                        } else if labelName == "plugin", pluginName != nil {
                            fail(.invalidLabel, "the plugin label is set by the agent")
                        } else if raw.count > maximumLabelValueLength {
                            fail(.invalidLabel, "value of label \(labelName) is longer than \(maximumLabelValueLength) bytes")
                        } else if labels.count >= maximumLabels {
                            fail(.invalidLabel, "more than \(maximumLabels) labels")
                        } else {
                            labels.append(MetricLabel(labelName, reader.string(raw)))
                        }
                    }
                default:
                    fail(.invalidLabel, "labels must be an object of strings")
                    try reader.skipValue(depth: 3)
                }
            } else if reader.equals(key, "unit") {
                if try reader.kind() == .string { unit = reader.string(try reader.readRawString()) } else { try reader.skipValue(depth: 3) }
            } else if reader.equals(key, "help") {
                if try reader.kind() == .string { help = reader.string(try reader.readRawString()) } else { try reader.skipValue(depth: 3) }
            } else if reader.equals(key, "timestamp_ms") {
                if try reader.kind() == .number {
                    let stamp = try reader.readNumber()
                    if !(stamp.isFinite && stamp >= 0) { fail(.invalidTimestamp, "timestamp_ms must be a non-negative integer") }
                } else {
                    fail(.invalidTimestamp, "timestamp_ms must be a non-negative integer")
                    try reader.skipValue(depth: 3)
                }
            } else {
                ignored += 1
                try reader.skipValue(depth: 3)
            }
        }
        if let failure { throw failure }
        guard let name else { throw SampleFailure(reason: .invalidName, detail: "name is missing", consumed: true) }
        guard let value else { throw SampleFailure(reason: .invalidValue, detail: "value is missing", consumed: true) }
        if kind == .counter, value < 0 { throw SampleFailure(reason: .negativeCounter, detail: "counter \(name) is negative (\(value))", consumed: true) }
        if let pluginName { labels.append(MetricLabel("plugin", pluginName)) }
        var helpText = help.map { String($0.prefix(512)) } ?? ""
        if let unit, !unit.isEmpty { helpText += helpText.isEmpty ? "Unit: \(unit.prefix(64))." : " Unit: \(unit.prefix(64))." }
        return MetricSample(name, kind, value, labels: labels, help: helpText)
    }

    // MARK: - Validation

    /// Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    public static func isValidMetricName(_ name: String, maximumLength: Int = 200) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first, utf8.count <= maximumLength, !(0x30...0x39).contains(first) else { return false }
        for b in utf8 where !(isAlnum(b) || b == 0x5F || b == 0x3A) { return false }
        return true
    }

    /// Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    public static func isValidLabelName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first, utf8.count <= 200, !(0x30...0x39).contains(first) else { return false }
        for b in utf8 where !(isAlnum(b) || b == 0x5F) { return false }
        return true
    }

    @inline(__always)
    private static func isAlnum(_ b: UInt8) -> Bool {
        (b &- 0x30) < 10 || ((b | 0x20) &- 0x61) < 26
    }

    /// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), with an 8-bytes-at-a-time ASCII path.
    public static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        var i = 0
        while i < count {
            if i + 8 <= count {
                let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if word & 0x8080_8080_8080_8080 == 0 {
                    i += 8
                    continue
                }
            }
            let b0 = bytes[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            let need: Int
            let minimum: UInt32
            var scalar: UInt32
            switch b0 {
            case 0xC2...0xDF: (need, minimum, scalar) = (1, 0x80, UInt32(b0 & 0x1F))
            case 0xE0...0xEF: (need, minimum, scalar) = (2, 0x800, UInt32(b0 & 0x0F))
            case 0xF0...0xF4: (need, minimum, scalar) = (3, 0x10000, UInt32(b0 & 0x07))
            default: return false
            }
            guard i + need < count else { return false }
            for k in 1...need {
                let b = bytes[i + k]
                guard b & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(b & 0x3F)
            }
            guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return false }
            i += need + 1
        }
        return true
    }

    static func preview(_ line: UnsafeRawBufferPointer) -> String {
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<min(line.count, 60)]), as: UTF8.self)
        return quoted(text) + (line.count > 60 ? "…" : "")
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars.prefix(80) {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out += scalar.value < 0x20 ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
            }
        }
        return out + "\""
    }
}
