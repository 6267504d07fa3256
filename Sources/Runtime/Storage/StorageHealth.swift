//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
public import GRDB
import Synchronization

/// The agent's two databases.
public enum StorageComponent: String, Sendable, CaseIterable, Hashable {
    /// `history.db`: samples, rollups, incidents.
    case history
    /// `audit.sqlite`: the hash-chained audit log.
    case audit
}

/// What the agent knows about one database.
public struct StorageCondition: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Open, and the last operation worked.
        case ok
        /// Open, but the last write failed (a full disk, an I/O error): data is held back or refused.
        case degraded
        /// Not open: it could not be opened or created.
        case unavailable
        /// Turned off in the configuration.
        case disabled
    }

    public var status: Status
    /// Why, when not ok.
    public var reason: String?

    public init(status: Status, reason: String? = nil) {
        self.status = status
        self.reason = reason
    }

    public static let ok = StorageCondition(status: .ok)

    /// Worth a reason in `status-simple`.
    public var isProblem: Bool { status == .degraded || status == .unavailable }
}

/// The condition of every database, for `/api/v1/status`, `status-simple` and the logs. Each database reports here
/// when an operation fails or works again; a change bumps ``generation`` (response caches key on it).
public final class StorageHealth: Sendable {
    private let conditions = Mutex<[StorageComponent: StorageCondition]>([:])
    private let changes = Atomic<UInt64>(0)

    public init() {}

    /// Sets the condition of `component`; returns true when it changed.
    @discardableResult
    public func set(_ component: StorageComponent, _ condition: StorageCondition) -> Bool {
        let changed = conditions.withLock { conditions in
            guard conditions[component] != condition else { return false }
            conditions[component] = condition
            return true
        }
        if changed { changes.add(1, ordering: .relaxed) }
        return changed
    }

    /// The condition of `component`; `ok` until something was reported.
    public func condition(_ component: StorageComponent) -> StorageCondition {
        conditions.withLock { $0[component] } ?? .ok
    }

    /// Every component that reported, in a fixed order.
    public var all: [(component: StorageComponent, condition: StorageCondition)] {
        let current = conditions.withLock { $0 }
        return StorageComponent.allCases.compactMap { component in current[component].map { (component, $0) } }
    }

    /// `<database> storage <status>: <reason>` for each database that is degraded or unavailable, in a fixed order:
    /// the reasons status, status-simple and health give.
    public var problems: [String] {
        all.filter { $0.condition.isProblem }.map { "\($0.component.rawValue) storage \($0.condition.status.rawValue): \($0.condition.reason ?? "unknown")" }
    }

    /// Changes with every change of condition.
    public var generation: UInt64 { changes.load(ordering: .relaxed) }
}

/// A database that cannot serve a request: the HTTP layer answers 503 `storage_unavailable` with ``reason``.
public struct StorageUnavailable: Error, Sendable, Hashable, CustomStringConvertible {
    public var component: StorageComponent
    public var reason: String

    public init(_ component: StorageComponent, reason: String) {
        self.component = component
        self.reason = reason
    }

    public var description: String { "the \(component.rawValue) database is unavailable: \(reason)" }
}

/// The files of one SQLite database (the file, its WAL and shared memory) and what to do with a broken one.
public enum StorageFiles {
    /// The companions SQLite keeps beside a WAL database.
    static let companions = ["-wal", "-shm"]

    /// The size the WAL of every state database is truncated to after a checkpoint resets it (`journal_size_limit`):
    /// without it, the file keeps the largest size it ever reached (a reader holding a long transaction lets it grow).
    public static let walSizeLimitBytes = 16 << 20

    /// Readers a state database's pool opens at most (GRDB's default is 5). Each reader is a serial Dispatch queue whose
    /// thread lives while it reads; the agent's reads (API and dashboard queries) are few, so two bound those threads
    /// without making a query wait behind another for long.
    public static let maximumReaders = 2

    /// SQLite's page cache per connection, in KiB (SQLite's default is 2,000). A database's pages the agent reads are
    /// the recent blocks, which the kernel's page cache holds anyway; with the default, each of a database's three
    /// connections (writer, two readers) keeps filling its cache as the file grows, so the agent's memory creeps up
    /// for hours before it levels off.
    public static let pageCacheKiB = 256

    /// Sets the WAL size limit (``walSizeLimitBytes``) and the page cache (``pageCacheKiB``) on a connection; for
    /// `Configuration.prepareDatabase`.
    public static func applyLimits(_ db: Database) throws {
        try db.execute(sql: "PRAGMA journal_size_limit = \(walSizeLimitBytes)")
        try db.execute(sql: "PRAGMA cache_size = -\(pageCacheKiB)")
    }

    /// Opens the WAL database at `path` as the agent keeps every state database: its directory made when missing, a
    /// 10 s busy timeout, `synchronous = NORMAL`, the WAL truncated to 16 MiB after checkpoints, a 256 KiB page cache
    /// per connection, and `migrator` applied (the pool is closed again when a migration fails).
    /// - Parameter label: GRDB's label of the pool, e.g. `viworks-history`.
    public static func openPool(_ path: String, label: String, migrator: DatabaseMigrator) throws -> DatabasePool {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        if !directory.isEmpty { try HostFile.makeDirectories(directory) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = label
        configuration.maximumReaderCount = maximumReaders
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try applyLimits(db)
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        do {
            try migrator.migrate(pool)
        } catch {
            try? pool.close()
            throw error
        }
        return pool
    }

    /// True when `error` says the file itself is damaged or not a database (as opposed to a full disk, a permission,
    /// a lock): moving it aside is the only way forward.
    public static func isCorruption(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB
    }

    /// `PRAGMA quick_check`: "ok", or the problems it found.
    public static func quickCheck(_ reader: some DatabaseReader) throws -> String {
        try reader.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check").joined(separator: "; ") }
    }

    /// Renames `path` and its companions (and `extraSuffixes`) to `<path>.corrupt-<UTC time>…`; returns the new path.
    /// The database must be closed first: an open connection would later unlink the new file's WAL by name.
    public static func quarantine(_ path: String, component: StorageComponent, at time: Timestamp = .now(), extraSuffixes: [String] = []) throws -> String {
        let stamp = time.rfc3339.prefix(19).replacing(":", with: "").replacing("-", with: "")
        var target = "\(path).corrupt-\(stamp)Z"
        var attempt = 1
        while access(target, F_OK) == 0 {
            attempt += 1
            target = "\(path).corrupt-\(stamp)Z-\(attempt)"
        }
        guard rename(path, target) == 0 || errno == ENOENT else {
            throw StorageUnavailable(component, reason: "cannot move \(path) aside: \(String(cString: strerror(errno)))")
        }
        for suffix in companions + extraSuffixes where access(path + suffix, F_OK) == 0 {
            _ = rename(path + suffix, target + suffix)
        }
        return target
    }
}
