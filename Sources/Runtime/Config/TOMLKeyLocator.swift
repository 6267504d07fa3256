//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Finds the line where a key is set in TOML source, for error messages.
///
/// The TOML library reports positions of syntax errors only, so this scans the text: it tracks the
/// current `[table]` header and matches `key =` (bare, quoted or dotted keys). A key set inside an
/// inline table reports the line of its parent key.
public struct TOMLKeyLocator: Sendable {
    private var lines: [String: Int] = [:]
    /// The line where each element of an array value starts, by the key's path.
    private var elementLines: [String: [Int]] = [:]

    /// The array value being read across lines: its key, bracket depth, and whether a new element may start.
    private struct OpenArray {
        var key: String
        var depth = 0
        var expectingElement = true
        var quote: Character?
        var escaped = false
    }

    public init(text: String) {
        var table: [String] = []
        var number = 0
        var arrayCounts: [String: Int] = [:]
        var open: OpenArray?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            if var array = open {
                open = scan(rawLine[...], &array, line: number) ? nil : array
                continue
            }
            let line = rawLine.trimmingASCIIWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                let inner = line.drop { $0 == "[" }.prefix { $0 != "]" }
                table = Self.splitKey(String(inner))
                record(table, number)
                if line.hasPrefix("[[") {
                    // An array of tables: entry i (1-based) is also found as `<table>.<i>`.
                    let count = arrayCounts[table.joined(separator: "."), default: 0] + 1
                    arrayCounts[table.joined(separator: ".")] = count
                    table.append(String(count))
                    record(table, number)
                }
                continue
            }
            guard let equals = Self.assignmentEquals(line) else { continue }
            let key = Self.splitKey(String(line[line.startIndex..<equals]))
            var path = table
            for part in key {
                path.append(part)
                record(path, number)
            }
            let value = line[line.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            if value.hasPrefix("[") {
                var array = OpenArray(key: path.joined(separator: "\u{1F}"))
                open = scan(value, &array, line: number) ? nil : array
            }
        }
    }

    /// Reads `text`, part of an array value, recording the line of each top-level element; true when the array closed.
    private mutating func scan(_ text: Substring, _ array: inout OpenArray, line: Int) -> Bool {
        for c in text {
            if let quote = array.quote {
                if array.escaped {
                    array.escaped = false
                } else if c == "\\" && quote == "\"" {
                    array.escaped = true
                } else if c == quote {
                    array.quote = nil
                }
                continue
            }
            switch c {
            case "#": return false
            case " ", "\t", "\r": continue
            case ",":
                if array.depth == 1 { array.expectingElement = true }
            case "]", "}":
                array.depth -= 1
                if array.depth <= 0 { return true }
            default:
                if array.depth == 1, array.expectingElement {
                    elementLines[array.key, default: []].append(line)
                    array.expectingElement = false
                }
                if c == "[" || c == "{" {
                    array.depth += 1
                } else if c == "\"" || c == "'" {
                    array.quote = c
                }
            }
        }
        return false
    }

    /// The 1-based line where element `element` (0-based) of the array at `path` starts; nil when unknown.
    public func line(of path: [String], element: Int) -> Int? {
        guard let lines = elementLines[path.joined(separator: "\u{1F}")], lines.indices.contains(element) else { return nil }
        return lines[element]
    }

    /// The 1-based line where `path` itself is set or declared; nil when it is not in the text.
    public func exactLine(of path: [String]) -> Int? {
        lines[path.joined(separator: "\u{1F}")]
    }

    private mutating func record(_ path: [String], _ line: Int) {
        let key = path.joined(separator: "\u{1F}")
        if lines[key] == nil { lines[key] = line }
    }

    /// The 1-based line of `path`, or of its nearest recorded parent.
    public func line(of path: [String]) -> Int? {
        var path = path
        while !path.isEmpty {
            if let line = lines[path.joined(separator: "\u{1F}")] { return line }
            path.removeLast()
        }
        return nil
    }

    /// The index of the `=` of a `key = value` line, outside quotes.
    private static func assignmentEquals(_ line: String) -> String.Index? {
        var quote: Character?
        for index in line.indices {
            let c = line[index]
            if let open = quote {
                if c == open { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "=" {
                return index
            }
        }
        return nil
    }

    /// `a."b.c".d` → ["a", "b.c", "d"].
    static func splitKey(_ key: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        for c in key {
            if let open = quote {
                if c == open { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "." {
                parts.append(current.trimmingASCIIWhitespace())
                current = ""
            } else {
                current.append(c)
            }
        }
        parts.append(current.trimmingASCIIWhitespace())
        return parts.filter { !$0.isEmpty }
    }
}
