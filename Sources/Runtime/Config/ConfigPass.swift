//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import TOMLKit

/// The one pass over a TOML document shared by the agent's configuration and plugin manifests: it flattens the tables
/// to dotted key paths, finds each path's ``ConfigKey`` and applies the value, and reports every problem at once as
/// ``ConfigIssue``s with file, line and key (a bad list element on its own line).
public struct ConfigPass<Root> {
    /// Whether a TOML table may stand at this path.
    var isTable: ([String]) -> Bool
    /// The message for a table where none may be.
    var misplacedTable: ([String]) -> String
    /// The key at a path of a value, or why there is none.
    var resolve: ([String]) throws(ConfigValueError) -> ConfigKey<Root>
    /// Paths written as arrays of tables (`[[auth.api_keys]]`): entry i (1-based) flattens to `<path>.<i>.<key>`.
    var tableArrays: Set<[String]> = []

    /// A pass whose tables and keys are decided by the caller: `isTable` says where a table may stand, `misplacedTable`
    /// words the problem of one that may not, `resolve` finds the key of a value's path or throws why there is none.
    public init(
        isTable: @escaping ([String]) -> Bool, misplacedTable: @escaping ([String]) -> String,
        resolve: @escaping ([String]) throws(ConfigValueError) -> ConfigKey<Root>, tableArrays: Set<[String]> = []
    ) {
        self.isTable = isTable
        self.misplacedTable = misplacedTable
        self.resolve = resolve
        self.tableArrays = tableArrays
    }

    /// Parses `text` (named `file` in issues) and applies every value to `root`; returns the problems.
    public func apply(toml text: String, file: String, to root: inout Root) -> [ConfigIssue] {
        if let bad = TOMLHeaderCheck.firstBadHeader(text) {
            return [ConfigIssue(source: file, line: bad.line, key: "", message: "TOML syntax: expected a table name after '[', found \(bad.found)")]
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            return [ConfigIssue(source: file, line: error.source.begin.line, key: "", message: "TOML syntax: \(error.description)")]
        } catch {
            return [ConfigIssue(source: file, line: nil, key: "", message: "TOML syntax: \(error)")]
        }
        let locator = TOMLKeyLocator(text: text)
        var issues: [ConfigIssue] = []
        var assignments: [(path: [String], value: ConfigValue)] = []
        flatten(table, prefix: [], into: &assignments, issues: &issues, file: file, locator: locator)
        for (path, value) in assignments {
            let dotted = path.joined(separator: ".")
            do throws(ConfigValueError) {
                try resolve(path).apply(value, to: &root)
            } catch {
                if error.elements.isEmpty {
                    issues.append(ConfigIssue(source: file, line: locator.line(of: path), key: dotted, message: error.message))
                }
                for element in error.elements {
                    issues.append(
                        ConfigIssue(source: file, line: locator.line(of: path, element: element.index) ?? locator.line(of: path), key: dotted, message: element.message))
                }
            }
        }
        return issues
    }

    private func flatten(
        _ table: TOMLTable, prefix: [String], into assignments: inout [(path: [String], value: ConfigValue)], issues: inout [ConfigIssue], file: String,
        locator: TOMLKeyLocator
    ) {
        for key in table.keys {
            guard let value = table[key] else { continue }
            let path = prefix + [key]
            if let array = value.array, tableArrays.contains(path), array.allSatisfy({ $0.table != nil }) {
                for (index, item) in array.enumerated() {
                    guard let sub = item.table else { continue }
                    flatten(sub, prefix: path + ["\(index + 1)"], into: &assignments, issues: &issues, file: file, locator: locator)
                }
            } else if let sub = value.table {
                guard isTable(path) else {
                    issues.append(ConfigIssue(source: file, line: locator.line(of: path), key: path.joined(separator: "."), message: misplacedTable(path)))
                    continue
                }
                flatten(sub, prefix: path, into: &assignments, issues: &issues, file: file, locator: locator)
            } else if let converted = Self.value(value) {
                assignments.append((path, converted))
            } else {
                issues.append(
                    ConfigIssue(source: file, line: locator.line(of: path), key: path.joined(separator: "."), message: "unsupported value type \(value.type)"))
            }
        }
    }

    private static func value(_ value: any TOMLValueConvertible) -> ConfigValue? {
        switch value.type {
        case .string: return value.string.map(ConfigValue.string)
        case .int: return value.int.map(ConfigValue.int)
        case .double: return value.double.map(ConfigValue.double)
        case .bool: return value.bool.map(ConfigValue.bool)
        case .array:
            guard let array = value.array else { return nil }
            var items: [ConfigValue] = []
            for item in array {
                guard let converted = Self.value(item) else { return nil }
                items.append(converted)
            }
            return .array(items)
        default: return nil
        }
    }
}
