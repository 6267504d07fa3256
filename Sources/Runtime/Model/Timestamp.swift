//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
// `timespec`'s members are declared by the stdlib's shims: named here so that a clean build under MemberImportVisibility sees them.
#if canImport(SwiftOverlayShims)
import SwiftOverlayShims
#endif

/// A wall-clock instant in UTC with nanosecond precision, rendered as RFC 3339.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Nanoseconds since the Unix epoch.
    public var nanosecondsSinceEpoch: Int64

    public init(nanosecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = nanosecondsSinceEpoch
    }

    /// Saturates at the representable range (about 1677–2262) and maps NaN to the epoch: it never traps.
    public init(secondsSinceEpoch: Double) {
        let nanoseconds = (secondsSinceEpoch * 1e9).rounded()
        if nanoseconds.isNaN {
            self.nanosecondsSinceEpoch = 0
        } else if nanoseconds >= 9.2e18 {
            self.nanosecondsSinceEpoch = Int64.max
        } else if nanoseconds <= -9.2e18 {
            self.nanosecondsSinceEpoch = Int64.min
        } else {
            self.nanosecondsSinceEpoch = Int64(nanoseconds)
        }
    }

    /// Milliseconds since the epoch, saturating at the representable range (about 1677–2262): it never traps.
    public init(millisecondsSinceEpoch milliseconds: Int64) {
        let (nanoseconds, overflow) = milliseconds.multipliedReportingOverflow(by: 1_000_000)
        self.nanosecondsSinceEpoch = overflow ? (milliseconds < 0 ? Int64.min : Int64.max) : nanoseconds
    }

    /// Milliseconds since the epoch, rounded towards the past.
    public var millisecondsSinceEpoch: Int64 {
        let quotient = nanosecondsSinceEpoch / 1_000_000
        return nanosecondsSinceEpoch % 1_000_000 < 0 ? quotient - 1 : quotient
    }

    // MARK: - Times given by clients

    /// `2200-01-01T00:00:00Z` in Unix seconds: the latest instant ``init(parameter:)`` accepts.
    public static let latestAcceptedSeconds: Int64 = 7_258_118_400

    /// The instants a client may name (query parameters, command-line flags): `1970-01-01T00:00:00Z` through
    /// `2200-01-01T00:00:00Z`, both included. Every millisecond or nanosecond figure derived from them fits an `Int64`
    /// with room to spare, so arithmetic on them cannot overflow.
    public static let acceptedRange = Timestamp(nanosecondsSinceEpoch: 0)...Timestamp(nanosecondsSinceEpoch: latestAcceptedSeconds * 1_000_000_000)

    /// How ``init(parameter:)`` describes what it accepts, for error messages.
    public static let acceptedSyntax =
        "an RFC 3339 time (2025-01-31T12:00:00Z) or Unix seconds (1738324800 or 1738324800.5), from 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"

    /// The one parser of times given by clients: RFC 3339 (`2025-01-31T12:00:00Z`, `…+02:00`, fractions up to
    /// nanoseconds) or Unix seconds as plain decimal digits with an optional fraction (`1738324800`, `1738324800.25`;
    /// no sign, exponent, `nan` or `inf`). Nil for anything else and for instants outside ``acceptedRange``.
    public init?(parameter text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else { return nil }
        if let parsed = Timestamp(rfc3339: String(text)) {
            guard Self.acceptedRange.contains(parsed) else { return nil }
            self = parsed
            return
        }
        var seconds: Int64 = 0
        var index = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = scaled.addingReportingOverflow(Int64(bytes[index] - 0x30))
            guard !overflow, !overflow2, sum <= Self.latestAcceptedSeconds else { return nil }
            seconds = sum
            index += 1
        }
        guard index > 0 else { return nil }
        var nanoseconds: Int64 = 0
        if index < bytes.count {
            guard let fraction = Self.fraction(bytes, at: &index), index == bytes.count else { return nil }
            nanoseconds = fraction
        }
        let parsed = Timestamp(nanosecondsSinceEpoch: seconds * 1_000_000_000 + nanoseconds)
        guard Self.acceptedRange.contains(parsed) else { return nil }
        self = parsed
    }

    /// A decimal fraction of a second at `index` (`.` and at least one digit; digits past the ninth are read and
    /// ignored) in nanoseconds; `index` moves past it. Nil without the dot or a digit.
    static func fraction(_ bytes: [UInt8], at index: inout Int) -> Int64? {
        guard index < bytes.count, bytes[index] == 0x2E else { return nil }
        index += 1
        var nanoseconds: Int64 = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            if digits < 9 {
                nanoseconds = nanoseconds * 10 + Int64(bytes[index] - 0x30)
                digits += 1
            }
            index += 1
        }
        guard digits > 0 else { return nil }
        for _ in digits..<9 { nanoseconds *= 10 }
        return nanoseconds
    }

    /// Seconds and nanoseconds as a `timespec` (a clock, a file's `st_mtim`) gives them, saturating at the representable
    /// range (about 1677–2262): a clock set to the year 3000 or a file stamped so must not trap.
    public init(seconds: Int64, nanoseconds: Int64) {
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflow2) = scaled.addingReportingOverflow(nanoseconds)
        if overflow || overflow2 {
            self.nanosecondsSinceEpoch = seconds < 0 ? Int64.min : Int64.max
        } else {
            self.nanosecondsSinceEpoch = total
        }
    }

    /// The current time from `CLOCK_REALTIME`.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }

    public var secondsSinceEpoch: Double { Double(nanosecondsSinceEpoch) / 1e9 }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
    }

    /// RFC 3339 in UTC with nine fractional digits, as in the specification's examples:
    /// `2025-09-03T09:06:55.757303636+00:00`.
    public var rfc3339: String {
        var seconds = nanosecondsSinceEpoch / 1_000_000_000
        var nanos = nanosecondsSinceEpoch % 1_000_000_000
        if nanos < 0 {
            nanos += 1_000_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = Self.civil(fromDays: days)
        let hour = secondOfDay / 3600
        let minute = (secondOfDay % 3600) / 60
        let second = secondOfDay % 60
        return "\(Self.pad(year, 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))T\(Self.pad(hour, 2)):\(Self.pad(minute, 2)):\(Self.pad(second, 2))."
            + "\(Self.pad(nanos, 9))+00:00"
    }

    public var description: String { rfc3339 }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 timestamp: \(text)")
        }
        self = parsed
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    public init?(rfc3339 text: String) {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[range] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        guard bytes.count >= 20,
            let year = number(0..<4), bytes[4] == 0x2D, let month = number(5..<7), bytes[7] == 0x2D,
            let day = number(8..<10), bytes[10] == 0x54 || bytes[10] == 0x74 || bytes[10] == 0x20,
            let hour = number(11..<13), bytes[13] == 0x3A, let minute = number(14..<16), bytes[16] == 0x3A,
            let second = number(17..<19), (1...12).contains(month), (1...Self.daysInMonth(year, month)).contains(day), hour < 24, minute < 60,
            second < 61, (1...9999).contains(year)
        else { return nil }
        var index = 19
        var nanos: Int64 = 0
        if index < bytes.count, bytes[index] == 0x2E {
            guard let fraction = Self.fraction(bytes, at: &index) else { return nil }
            nanos = fraction
        }
        guard index < bytes.count else { return nil }
        var offsetSeconds: Int64 = 0
        switch bytes[index] {
        case 0x5A, 0x7A:
            index += 1
        case 0x2B, 0x2D:
            guard let oh = number((index + 1)..<(index + 3)), index + 3 < bytes.count, bytes[index + 3] == 0x3A,
                let om = number((index + 4)..<(index + 6)), oh < 24, om < 60
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (bytes[index] == 0x2D ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        // Years 1…9999 fit in seconds; nanoseconds only for about 1678–2262: beyond, the text is not a Timestamp.
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflow2) = scaled.addingReportingOverflow(nanos)
        guard !overflow, !overflow2 else { return nil }
        self.nanosecondsSinceEpoch = total
    }

    static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's civil-from-days / days-from-civil algorithms (proleptic Gregorian calendar).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
