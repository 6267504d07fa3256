//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The last `Pss` read of each service process, and when it may be read again.
///
/// procfs generates `/proc/PID/smaps_rollup` by walking the process's page tables: one read costs time in proportion
/// to the memory the process has resident (measured on the 2-core VM: 24 ms for a process with 2 GiB resident, against
/// 50 µs for its `stat`). Read at every collection for every process of every service, a database server with tens of
/// GiB would cost more CPU than everything else the agent does.
///
/// So a process's `Pss` is read again once its last read is ``secondsPerResidentGiB`` seconds old per GiB the process
/// has resident now (`rss` of its `stat`), and at the latest after ``maximumAge``: a process of less than 100 MiB is
/// read at every collection of a 1 s interval as before, one of 4 GiB every 40 s (about 0.1 % of a CPU). A process is
/// known by its PID and start time, so a reused PID is read afresh; processes not asked about in a collection are
/// forgotten.
struct ProportionalSetSizes {
    /// How long a read is reused per GiB the process has resident.
    static let secondsPerResidentGiB = 10.0
    /// The longest a read is reused, however large the process.
    static let maximumAge = 300.0

    private struct Entry {
        var startTicks: UInt64
        var pssBytes: UInt64?
        /// Monotonic seconds of the read.
        var readAt: Double
    }

    private var entries: [Int: Entry] = [:]
    private var asked: Set<Int> = []

    /// The `Pss` read before `now` that can still be used for the process (`residentBytes` now), or nil when it must
    /// be read again (``record(pid:startTicks:pssBytes:now:)``). The outer optional is whether there is one; the
    /// inner, whether that read found a value (an unreadable file is not tried again before its time either).
    mutating func reusable(pid: Int, startTicks: UInt64, residentBytes: UInt64, now: Double) -> UInt64?? {
        asked.insert(pid)
        guard let entry = entries[pid], entry.startTicks == startTicks else { return nil }
        let age = now - entry.readAt
        let lifetime = min(Self.maximumAge, Double(residentBytes) / Double(1 << 30) * Self.secondsPerResidentGiB)
        guard age >= 0, age < lifetime else { return nil }
        return .some(entry.pssBytes)
    }

    /// A read of the process's `Pss` made at `now`.
    mutating func record(pid: Int, startTicks: UInt64, pssBytes: UInt64?, now: Double) {
        asked.insert(pid)
        entries[pid] = Entry(startTicks: startTicks, pssBytes: pssBytes, readAt: now)
    }

    /// Forgets the processes that no call asked about since the previous ``endCollection()``.
    mutating func endCollection() {
        if entries.count != asked.count || entries.keys.contains(where: { !asked.contains($0) }) {
            entries = entries.filter { asked.contains($0.key) }
        }
        asked.removeAll(keepingCapacity: true)
    }

    /// The sum of the processes' `Pss` (nil when none could be read), reading those that are due with `reader`.
    mutating func total(_ processes: [ProcessStat], pageSize: UInt64, now: Double, reader: borrowing ProcFileReader) -> UInt64? {
        var total: UInt64?
        for process in processes {
            let (resident, overflow) = process.rssPages.multipliedReportingOverflow(by: pageSize)
            let pss: UInt64?
            if let reused = reusable(pid: process.pid, startTicks: process.startTicks, residentBytes: overflow ? .max : resident, now: now) {
                pss = reused
            } else {
                pss = reader.pssBytes(process.pid)
                record(pid: process.pid, startTicks: process.startTicks, pssBytes: pss, now: now)
            }
            if let pss { total = (total ?? 0) + pss }
        }
        return total
    }
}
