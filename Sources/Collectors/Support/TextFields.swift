//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// Small allocation-lean helpers shared by the parsers of procfs and sysfs text.

// procfs and sysfs text is ASCII where it matters (separators, digits), so these helpers scan UTF-8 bytes and
// slice with the same indices: splitting on `Character`s would pay for grapheme breaking on every byte.

extension Substring {
    /// Whitespace-separated fields (spaces and tabs).
    var fields: [Substring] {
        var result: [Substring] = []
        let bytes = utf8
        var index = bytes.startIndex
        let end = bytes.endIndex
        while index < end {
            while index < end, bytes[index] == 0x20 || bytes[index] == 0x09 { bytes.formIndex(after: &index) }
            guard index < end else { break }
            let start = index
            while index < end, bytes[index] != 0x20, bytes[index] != 0x09 { bytes.formIndex(after: &index) }
            result.append(self[start..<index])
        }
        return result
    }
}

extension StringProtocol where SubSequence == Substring {
    /// Splits at every `separator` byte (an ASCII character), keeping empty pieces.
    func split(byte separator: UInt8) -> [Substring] {
        var result: [Substring] = []
        let bytes = utf8
        var start = bytes.startIndex
        var index = start
        while index < bytes.endIndex {
            if bytes[index] == separator {
                result.append(self[start..<index])
                bytes.formIndex(after: &index)
                start = index
            } else {
                bytes.formIndex(after: &index)
            }
        }
        result.append(self[start..<bytes.endIndex])
        return result
    }

    /// The lines of the text, without empty trailing lines; each line keeps its 1-based number.
    var numberedLines: [(number: Int, text: Substring)] {
        var result: [(number: Int, text: Substring)] = []
        let bytes = utf8
        var start = bytes.startIndex
        var index = start
        let end = bytes.endIndex
        var number = 0
        while index < end {
            if bytes[index] == 0x0A {
                number += 1
                result.append((number, self[start..<index]))
                bytes.formIndex(after: &index)
                start = index
            } else {
                bytes.formIndex(after: &index)
            }
        }
        number += 1
        result.append((number, self[start..<end]))
        while let last = result.last, last.text.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
            result.removeLast()
        }
        return result
    }
}

/// Parses an unsigned decimal integer made only of ASCII digits; nil on anything else or on overflow.
func parseUInt64<S: StringProtocol>(_ text: S) -> UInt64? {
    guard !text.isEmpty else { return nil }
    var value: UInt64 = 0
    for byte in text.utf8 {
        guard byte >= 0x30, byte <= 0x39 else { return nil }
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - 0x30))
        if o1 || o2 { return nil }
        value = sum
    }
    return value
}

/// Parses a signed decimal integer (`-12`, `+3`, `45`); nil on anything else or on overflow.
func parseInt64<S: StringProtocol>(_ text: S) -> Int64? {
    var digits = Substring(text)
    var negative = false
    if let first = digits.first, first == "-" || first == "+" {
        negative = first == "-"
        digits = digits.dropFirst()
    }
    guard let magnitude = parseUInt64(digits) else { return nil }
    if negative {
        guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
        return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
    }
    guard magnitude <= UInt64(Int64.max) else { return nil }
    return Int64(magnitude)
}

/// Parses a finite decimal number such as `0.45` or `2596.120`; nil on anything else.
func parseDouble<S: StringProtocol>(_ text: S) -> Double? {
    guard let value = Double(String(text)), value.isFinite else { return nil }
    return value
}
