//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Hummingbird

/// The query string of a request, read by the same rules on every route (the OpenAPI document's `info.description`
/// states them):
/// - names and values are percent-decoded (`+` stays a plus sign, so `+02:00` offsets survive); bad percent-encoding
///   or bytes that are not UTF-8 are refused;
/// - a parameter the route does not take is refused, naming it; so is a parameter given twice, unless the route
///   declares it repeatable (`label`);
/// - booleans are exactly `true`, `false`, `1` or `0`; integers are decimal digits within the documented range;
///   times go through ``Timestamp/init(parameter:)`` (RFC 3339 or Unix seconds, 1970 to 2200);
/// - a range whose start is after its end is refused.
///
/// Every refusal is a 400 with the code `invalid_parameter` and a message that names the parameter.
struct QueryParameters {
    /// The error code of every refusal.
    static let errorCode = "invalid_parameter"

    /// Decoded (name, value) pairs in the order the client sent them.
    let values: [(name: String, value: String)]

    /// - Parameters:
    ///   - allowed: every parameter the route takes.
    ///   - repeatable: those that may be given more than once.
    init(_ request: Request, allowed: Set<String>, repeatable: Set<String> = []) throws {
        try self.init(query: request.uri.query ?? "", allowed: allowed, repeatable: repeatable)
    }

    init(query: String, allowed: Set<String>, repeatable: Set<String> = []) throws {
        var values: [(name: String, value: String)] = []
        for piece in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = piece.firstIndex(of: UInt8(ascii: "="))
            let rawName = equals.map { piece[..<$0] } ?? piece[...]
            let rawValue = equals.map { piece[piece.index(after: $0)...] } ?? piece[piece.endIndex...]
            guard let name = Self.percentDecoded(rawName) else {
                throw Self.invalid("a query parameter name is not valid percent-encoded UTF-8: \"\(Self.shortened(String(decoding: rawName, as: UTF8.self)))\"")
            }
            guard allowed.contains(name) else {
                let list = allowed.sorted().joined(separator: ", ")
                throw Self.invalid("unknown query parameter '\(Self.shortened(name))'" + (list.isEmpty ? ": this route takes none" : " (allowed: \(list))"))
            }
            guard let value = Self.percentDecoded(rawValue) else {
                throw Self.invalid("\(name): not valid percent-encoded UTF-8")
            }
            if !repeatable.contains(name), values.contains(where: { $0.name == name }) {
                throw Self.invalid("query parameter '\(name)' is given twice")
            }
            values.append((name, value))
        }
        self.values = values
    }

    static func invalid(_ message: String) -> APIError {
        APIError(.badRequest, code: errorCode, message: message)
    }

    /// A client's text as echoed in a message: at most 64 characters.
    static func shortened(_ text: String) -> String {
        text.count <= 64 ? text : String(text.prefix(64)) + "…"
    }

    func text(_ name: String) -> String? { values.first { $0.name == name }?.value }

    func all(_ name: String) -> [String] { values.filter { $0.name == name }.map(\.value) }

    /// A time (``Timestamp/init(parameter:)``).
    func time(_ name: String) throws -> Timestamp? {
        guard let text = text(name) else { return nil }
        guard let time = Timestamp(parameter: text) else {
            throw Self.invalid("\(name): expected \(Timestamp.acceptedSyntax), got \"\(Self.shortened(text))\"")
        }
        return time
    }

    /// Two optional times; when both are given, `start` must not be after `end`.
    func times(_ start: String, _ end: String) throws -> (Timestamp?, Timestamp?) {
        let from = try time(start)
        let to = try time(end)
        if let from, let to, from > to {
            throw Self.invalid("\(start) (\(text(start) ?? "")) is after \(end) (\(text(end) ?? ""))")
        }
        return (from, to)
    }

    /// `from` and `to` as milliseconds (default: `to` now, `from` `defaultSpan` seconds before `to`); `from` must not
    /// be after `to`.
    func range(now: Timestamp, defaultSpan: Int64, from fromName: String = "from", to toName: String = "to") throws -> (Int64, Int64) {
        let (givenFrom, givenTo) = try times(fromName, toName)
        let to = givenTo?.millisecondsSinceEpoch ?? now.millisecondsSinceEpoch
        let from = givenFrom?.millisecondsSinceEpoch ?? (to &- defaultSpan &* 1000)
        guard from <= to else {
            throw Self.invalid("\(fromName) (\(text(fromName) ?? "")) is after \(toName) (\(text(toName) ?? "now"))")
        }
        return (from, to)
    }

    /// `true`, `false`, `1` or `0`.
    func boolean(_ name: String) throws -> Bool? {
        guard let text = text(name) else { return nil }
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default: throw Self.invalid("\(name): expected true or false (or 1 or 0), got \"\(Self.shortened(text))\"")
        }
    }

    /// Decimal digits (an optional leading `-`) within `range`.
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = text(name) else { return nil }
        guard text.utf8.count <= 20, let value = Int(text), range.contains(value) else {
            throw Self.invalid("\(name): expected an integer in \(range.lowerBound)...\(range.upperBound), got \"\(Self.shortened(text))\"")
        }
        return value
    }

    /// One of `choices`.
    func choice(_ name: String, _ choices: [String]) throws -> String? {
        guard let text = text(name) else { return nil }
        guard choices.contains(text) else {
            throw Self.invalid("\(name): expected one of \(choices.joined(separator: ", ")), got \"\(Self.shortened(text))\"")
        }
        return text
    }

    /// Strict percent-decoding: nil for a `%` not followed by two hex digits, or bytes that are not UTF-8.
    static func percentDecoded(_ raw: some Collection<UInt8>) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var iterator = raw.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension RequestContext {
    /// A path parameter, percent-decoded (`/api/v1/metrics/a%3Ab/history` names `a:b`); bad encoding is a 400.
    func pathParameter(_ name: String) throws -> String {
        let raw = parameters.get(name) ?? ""
        guard let decoded = QueryParameters.percentDecoded(raw.utf8) else {
            throw QueryParameters.invalid("\(name): the path segment is not valid percent-encoded UTF-8: \"\(QueryParameters.shortened(raw))\"")
        }
        return decoded
    }
}
