//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// Parses os-release(5): newline-separated `KEY=value` assignments in shell syntax.
///
/// Values may be unquoted, `"double quoted"` (where `\"`, `\\`, `\$` and `` \` `` are escapes) or
/// `'single quoted'` (literal). Comments (`#`) and blank lines are skipped, as are lines that are
/// not assignments.
public enum OSReleaseParser {
    public static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for (_, rawLine) in text.numberedLines {
            let line = rawLine.trimmingASCIIWhitespace()
            guard !line.isEmpty, !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals])
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else { continue }
            values[key] = unquote(line[line.index(after: equals)...])
        }
        return values
    }

    /// Shell-style unquoting of one value.
    static func unquote(_ value: Substring) -> String {
        var result = ""
        var iterator = value.makeIterator()
        var quote: Character?
        while let character = iterator.next() {
            switch (quote, character) {
            case (nil, "\""), (nil, "'"):
                quote = character
            case ("\"", "\""), ("'", "'"):
                quote = nil
            case ("'", _):
                result.append(character)
            case ("\"", "\\"):
                guard let next = iterator.next() else { break }
                if next == "\"" || next == "\\" || next == "$" || next == "`" {
                    result.append(next)
                } else if next != "\n" {
                    result.append("\\")
                    result.append(next)
                }
            case (nil, "\\"):
                if let next = iterator.next() { result.append(next) }
            default:
                result.append(character)
            }
        }
        return result
    }
}
