//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The command line and the real uid of the processes the `processes` collector lists, kept from one collection to the
/// next for as long as a process stays listed.
///
/// A listed process's `cmdline` is read at every collection, since a program may rewrite it (nginx, PostgreSQL and
/// sshd show their state there), but masked again (``CommandLineRedaction``) only when its bytes changed. Its real uid
/// is read from `status` when the process enters the list, after an exec (`comm` changed) and again once
/// ``uidRefreshSeconds`` have passed since the last read (a process may change its uid, `setuid`): procfs generates the
/// whole `status` file for one line of it, the dearest read of the list. A process no longer listed is forgotten.
struct ProcessDescriptions {
    struct Description: Equatable {
        var command: String
        var uid: Int?
    }

    private struct Entry {
        var comm: String
        var commandLine: [UInt8]?
        var command: String
        var uid: Int?
        var uidReadAt: Double
    }

    /// How old the uid of a listed process may get before `status` is read again, in seconds.
    static let uidRefreshSeconds: Double = 10

    private var entries: [ProcessCPUHistory.Key: Entry] = [:]

    /// The processes described now (their PIDs and start times).
    var keys: Set<ProcessCPUHistory.Key> { Set(entries.keys) }

    /// The command line as the API shows it (empty when `cmdline` cannot be read: the process exited) and the real uid
    /// of `process`, read through `reader` at `monotonicSeconds` (the table's time).
    mutating func describe(_ process: ProcessStat, reader: borrowing ProcFileReader, monotonicSeconds: Double) -> Description {
        let key = ProcessCPUHistory.Key(pid: process.pid, startTicks: process.startTicks)
        let bytes = reader.commandLineBytes(process.pid, limit: ProcFileReader.displayedCommandLineBytes)
        func command() -> String { bytes.map { ProcFileReader.displayCommandLine(of: $0) } ?? "" }
        var entry: Entry
        if var known = entries[key], known.comm == process.comm {
            // Kept as a copy of its own only when it changed (the slice holds the read's whole buffer).
            if !Self.same(known.commandLine, bytes) {
                known.commandLine = bytes.map { Array($0) }
                known.command = command()
            }
            let age = monotonicSeconds - known.uidReadAt
            if age >= Self.uidRefreshSeconds || age < 0 {
                known.uid = reader.uid(process.pid)
                known.uidReadAt = monotonicSeconds
            }
            entry = known
        } else {
            entry = Entry(comm: process.comm, commandLine: bytes.map { Array($0) }, command: command(), uid: reader.uid(process.pid), uidReadAt: monotonicSeconds)
        }
        entries[key] = entry
        return Description(command: entry.command, uid: entry.uid)
    }

    private static func same(_ kept: [UInt8]?, _ read: ArraySlice<UInt8>?) -> Bool {
        guard let kept, let read else { return kept == nil && read == nil }
        return kept.elementsEqual(read)
    }

    /// Forgets every process but `listed`.
    mutating func keepOnly(_ listed: Set<ProcessCPUHistory.Key>) {
        entries = entries.filter { listed.contains($0.key) }
    }
}
