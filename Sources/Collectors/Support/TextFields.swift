//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// Small allocation-lean helpers shared by the parsers of procfs and sysfs text.

extension Substring {
    /// Whitespace-separated fields (spaces and tabs).
    var fields: [Substring] {
        split(whereSeparator: { $0 == " " || $0 == "\t" })
    }
}

extension StringProtocol {
    /// The lines of the text, without empty trailing lines; each line keeps its 1-based number.
    var numberedLines: [(number: Int, text: Substring)] {
        var result: [(Int, Substring)] = []
        var number = 0
        for line in self.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            result.append((number, Substring(line)))
        }
        while let last = result.last, last.1.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) {
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
