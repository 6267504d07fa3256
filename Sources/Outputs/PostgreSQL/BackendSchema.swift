//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// The backend's tables as the specification defines them (examples/backend/schema.sql, embedded), and the extra tables
/// of `extended = true` (examples/backend/schema-extended.sql).
enum BackendSchema {
    /// The statements of schema.sql, in order, comments removed.
    static let statements = statements(of: PackageResources.schema_sql)
    /// The statements of schema-extended.sql.
    static let extendedStatements = statements(of: PackageResources.schema_extended_sql)

    static func statements(of file: [UInt8]) -> [String] {
        let text = String(decoding: file, as: UTF8.self)
        let withoutComments = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingPrefix(while: \.isWhitespace).hasPrefix("--") }
            .joined(separator: "\n")
        return withoutComments.split(separator: ";").map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
    }
}

extension BackendSchema {
    /// A unique key that makes a retried insert harmless, and the statement that adds it (from schema.sql).
    struct UniqueKey: Sendable {
        let table: String
        let columns: [String]
        let statement: String
    }

    /// The unique keys schema.sql creates, one per table, found by their `CREATE UNIQUE INDEX` statements.
    static let uniqueKeys = uniqueKeys(of: statements)
    /// The unique keys of schema-extended.sql.
    static let extendedUniqueKeys = uniqueKeys(of: extendedStatements)

    static func uniqueKeys(of statements: [String]) -> [UniqueKey] {
        statements.compactMap { statement in
            guard statement.hasPrefix("CREATE UNIQUE INDEX"), let on = statement.firstRange(of: " ON "),
                let open = statement.firstIndex(of: "("), let close = statement.lastIndex(of: ")"), open < close
            else { return nil }
            let table = statement[on.upperBound..<open].trimmingASCIIWhitespace()
            let columns = statement[statement.index(after: open)..<close].split(separator: ",").map { $0.trimmingASCIIWhitespace() }
            return UniqueKey(table: table, columns: columns, statement: statement.replacing("IF NOT EXISTS ", with: "") + ";")
        }
    }
}
