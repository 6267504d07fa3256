//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Why a line is not JSON, with the byte offset where parsing stopped.
struct JSONSyntaxError: Error, Sendable, Hashable {
    var message: String
    var offset: Int
}

/// A string token as found in the input: its bytes between the quotes and whether they hold escapes.
struct RawJSONString {
    var start: Int
    var end: Int
    var hasEscapes: Bool
    var count: Int { end - start }
}

/// A pull parser over one line of JSON (RFC 8259), without building a tree: the wire decoder walks the
/// members it knows and skips the rest. It accepts the non-standard literals `NaN`, `Infinity` and
/// `-Infinity` as numbers so a sample carrying one can be rejected precisely instead of the whole line.
///
/// The input must stay valid while the reader is used; strings are copied out when asked for.
struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var index = 0
    /// Containers are at most this deep (skipped values included).
    static let maximumDepth = 64

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var isAtEnd: Bool {
        mutating get {
            skipWhitespace()
            return index >= bytes.count
        }
    }

    func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(message: message, offset: index) }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            let b = bytes[index]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            index += 1
        }
    }

    @inline(__always)
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    @inline(__always)
    mutating func consume(_ byte: UInt8) -> Bool {
        if peek() == byte {
            index += 1
            return true
        }
        return false
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        guard consume(byte) else {
            throw error(peek() == nil ? "unexpected end of line, expected \(what)" : "expected \(what)")
        }
    }

    // MARK: - Objects and arrays

    /// Reads `{`; then call ``nextKey(first:)`` until it returns nil.
    mutating func beginObject() throws(JSONSyntaxError) {
        try expect(0x7B, "'{'")
    }

    /// The next member's key (the reader is then at its value), or nil after the closing `}`.
    mutating func nextKey(first: inout Bool) throws(JSONSyntaxError) -> RawJSONString? {
        if first {
            first = false
            if consume(0x7D) { return nil }
        } else {
            if consume(0x7D) { return nil }
            try expect(0x2C, "',' or '}'")
        }
        guard peek() == 0x22 else { throw error("expected a string key") }
        let key = try readRawString()
        try expect(0x3A, "':'")
        return key
    }

    mutating func beginArray() throws(JSONSyntaxError) {
        try expect(0x5B, "'['")
    }

    /// True when another element follows (the reader is at it), false after the closing `]`.
    mutating func nextElement(first: inout Bool) throws(JSONSyntaxError) -> Bool {
        if first {
            first = false
            return !consume(0x5D)
        }
        if consume(0x5D) { return false }
        try expect(0x2C, "',' or ']'")
        return true
    }

    // MARK: - Strings

    /// Reads a string token; escapes are validated but not decoded.
    mutating func readRawString() throws(JSONSyntaxError) -> RawJSONString {
        try expect(0x22, "a string")
        let start = index
        var escapes = false
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x22 {
                let raw = RawJSONString(start: start, end: index, hasEscapes: escapes)
                index += 1
                return raw
            }
            if b == 0x5C {
                escapes = true
                index += 1
                guard index < bytes.count else { break }
                switch bytes[index] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: index += 1
                case 0x75:
                    guard index + 4 < bytes.count else { throw error("truncated \\u escape") }
                    for k in 1...4 where Self.hexValue(bytes[index + k]) == nil { throw error("invalid \\u escape") }
                    index += 5
                default: throw error("invalid escape")
                }
                continue
            }
            if b < 0x20 { throw error("control character in a string") }
            index += 1
        }
        throw error("unterminated string")
    }

    /// The decoded text of a string token.
    func string(_ raw: RawJSONString) -> String {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[raw.start..<raw.end])
        guard raw.hasEscapes else { return String(decoding: slice, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.start
        func flush() {
            if !out.isEmpty {
                scalars.append(contentsOf: String(decoding: out, as: UTF8.self).unicodeScalars)
                out.removeAll(keepingCapacity: true)
            }
        }
        while i < raw.end {
            let b = bytes[i]
            guard b == 0x5C else {
                out.append(b)
                i += 1
                continue
            }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var unit = hex4(at: i)
                i += 4
                if (0xD800...0xDBFF).contains(unit), i + 5 < raw.end, bytes[i] == 0x5C, bytes[i + 1] == 0x75 {
                    let low = hex4(at: i + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                flush()
                scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
            default: out.append(e)  // \" \\ \/
            }
        }
        flush()
        return String(scalars)
    }

    /// Whether a string token equals `literal` (ASCII, no escapes in `literal`).
    func equals(_ raw: RawJSONString, _ literal: StaticString) -> Bool {
        guard !raw.hasEscapes else { return string(raw) == literal.description }
        guard raw.count == literal.utf8CodeUnitCount else { return false }
        let pointer = literal.utf8Start
        for k in 0..<raw.count where bytes[raw.start + k] != pointer[k] { return false }
        return true
    }

    private func hex4(at i: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<4 { value = value << 4 | UInt32(Self.hexValue(bytes[i + k]) ?? 0) }
        return value
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    // MARK: - Scalars

    /// What a value is, judged by its first byte.
    enum Kind {
        case object, array, string, number, bool, null
    }

    mutating func kind() throws(JSONSyntaxError) -> Kind {
        guard let byte = peek() else { throw error("unexpected end of line, expected a value") }
        return switch byte {
        case 0x7B: .object
        case 0x5B: .array
        case 0x22: .string
        case 0x74, 0x66: .bool
        case 0x6E: .null
        case 0x2D, 0x30...0x39, 0x4E, 0x49: .number
        default: throw error("unexpected character")
        }
    }

    /// Reads a number, or `NaN`, `Infinity`, `-Infinity`. Numbers out of the double range become ±infinity.
    mutating func readNumber() throws(JSONSyntaxError) -> Double {
        skipWhitespace()
        let start = index
        if matchLiteral("NaN") { return .nan }
        if matchLiteral("Infinity") { return .infinity }
        if matchLiteral("-Infinity") { return -.infinity }
        var negative = false
        if index < bytes.count, bytes[index] == 0x2D {
            negative = true
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var exact = true
        let intStart = index
        while index < bytes.count, case let b = bytes[index], b >= 0x30, b <= 0x39 {
            if digits < 19 {
                mantissa = mantissa &* 10 &+ UInt64(b - 0x30)
                if mantissa != 0 { digits += 1 }
            } else {
                exponent += 1
                exact = false
            }
            index += 1
        }
        let intDigits = index - intStart
        guard intDigits > 0 else { throw error("invalid number") }
        if intDigits > 1, bytes[intStart] == 0x30 { throw error("leading zero in a number") }
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            let fracStart = index
            while index < bytes.count, case let b = bytes[index], b >= 0x30, b <= 0x39 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(b - 0x30)
                    if mantissa != 0 { digits += 1 }
                    exponent -= 1
                } else {
                    exact = false
                }
                index += 1
            }
            guard index > fracStart else { throw error("invalid number: no digits after '.'") }
        }
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            index += 1
            var expNegative = false
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D {
                expNegative = bytes[index] == 0x2D
                index += 1
            }
            let expStart = index
            var value = 0
            while index < bytes.count, case let b = bytes[index], b >= 0x30, b <= 0x39 {
                if value < 100_000 { value = value * 10 + Int(b - 0x30) }
                index += 1
            }
            guard index > expStart else { throw error("invalid number: no digits in the exponent") }
            exponent += expNegative ? -value : value
        }
        // Fast path (exact): a mantissa below 2^53 scaled by an exactly representable power of ten.
        if exact, mantissa < (1 << 53), exponent >= -22, exponent <= 22 {
            let m = Double(mantissa)
            let result = exponent >= 0 ? m * Self.powersOfTen[exponent] : m / Self.powersOfTen[-exponent]
            return negative ? -result : result
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else { throw error("invalid number") }
        return value
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    mutating func readBool() throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        if matchLiteral("true") { return true }
        if matchLiteral("false") { return false }
        throw error("invalid literal")
    }

    mutating func readNull() throws(JSONSyntaxError) {
        skipWhitespace()
        guard matchLiteral("null") else { throw error("invalid literal") }
    }

    private mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let pointer = literal.utf8Start
        for k in 0..<count where bytes[index + k] != pointer[k] { return false }
        index += count
        return true
    }

    /// Skips one value of any type, checking its syntax.
    mutating func skipValue(depth: Int = 0) throws(JSONSyntaxError) {
        guard depth < Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
        switch try kind() {
        case .object:
            try beginObject()
            var first = true
            while try nextKey(first: &first) != nil { try skipValue(depth: depth + 1) }
        case .array:
            try beginArray()
            var first = true
            while try nextElement(first: &first) { try skipValue(depth: depth + 1) }
        case .string: _ = try readRawString()
        case .number: _ = try readNumber()
        case .bool: _ = try readBool()
        case .null: try readNull()
        }
    }
}
