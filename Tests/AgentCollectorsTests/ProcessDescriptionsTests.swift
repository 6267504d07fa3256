//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentCollectors
import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The command line and uid of a listed process, kept from one collection to the next: the files of a real nginx worker
/// (the debian12-services capture, uid 65534), then changed as the process itself would change them.
@Suite("processes: command lines and uids of listed processes")
struct ProcessDescriptionsTests {
    static let capture = Fixtures.root + "/cases/processes/debian12-services/step1/proc/2318/"

    /// A copy of the worker's `stat`, `status` and `cmdline` under a /proc root of its own.
    static func copyOfTheWorker() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        for name in ["stat", "status", "cmdline"] {
            let text = try #require(HostFile.readIfPresent(capture + name))
            try directory.write("2318/" + name, text)
        }
        return directory
    }

    static func stat(_ directory: TemporaryDirectory) throws -> ProcessStat {
        let text = try #require(HostFile.readIfPresent(directory.path + "/2318/stat"))
        return try #require(ProcessStat.parse(Array(text.utf8)))
    }

    @Test func theCommandLineIsReadEachTimeTheUidOnceItsRefreshIsDue() throws {
        let directory = try Self.copyOfTheWorker()
        let reader = try ProcFileReader(root: directory.path)
        let worker = try Self.stat(directory)
        #expect(worker.comm == "nginx" && worker.startTicks == 1_016_782)
        var descriptions = ProcessDescriptions()
        // `nginx: worker process` and 44 NULs of padding; Uid 65534 (nobody).
        #expect(descriptions.describe(worker, reader: reader, monotonicSeconds: 100) == .init(command: "nginx: worker process", uid: 65534))

        // The process rewrites its title (with a secret in it) and changes its uid.
        try directory.write("2318/cmdline", "nginx: worker process is shutting down\0--password=hunter2\0")
        let status = try #require(HostFile.readIfPresent(directory.path + "/2318/status"))
        try directory.write("2318/status", status.replacing("Uid:\t65534\t65534\t65534\t65534", with: "Uid:\t0\t0\t0\t0"))
        #expect(HostFile.readIfPresent(directory.path + "/2318/status").flatMap(ProcFileReader.parseUid) == 0)
        // The title at once, masked; the uid read 9.9 s ago is still shown.
        #expect(
            descriptions.describe(worker, reader: reader, monotonicSeconds: 109.9)
                == .init(command: "nginx: worker process is shutting down --password=***", uid: 65534))
        // Ten seconds after the last read of `status`: read again.
        #expect(descriptions.describe(worker, reader: reader, monotonicSeconds: 110).uid == 0)

        // After an exec (another `comm`) the uid is read at once.
        try directory.write("2318/status", status)
        var execed = worker
        execed.comm = "nginx-debug"
        #expect(descriptions.describe(execed, reader: reader, monotonicSeconds: 111).uid == 65534)
        // So it is for another process under the same PID (another start time)...
        try directory.write("2318/status", status.replacing("Uid:\t65534\t65534\t65534\t65534", with: "Uid:\t33\t33\t33\t33"))
        var reused = execed
        reused.startTicks += 500
        #expect(descriptions.describe(reused, reader: reader, monotonicSeconds: 112).uid == 33)
        // ...and for a clock that went backwards (a table read for another context).
        try directory.write("2318/status", status)
        #expect(descriptions.describe(reused, reader: reader, monotonicSeconds: 50).uid == 65534)

        // A process that exited: no command line; what it was is forgotten once it is no longer listed.
        unlink(directory.path + "/2318/cmdline")
        #expect(descriptions.describe(reused, reader: reader, monotonicSeconds: 51).command == "")
        let key = ProcessCPUHistory.Key(pid: 2318, startTicks: reused.startTicks)
        #expect(descriptions.keys == [key, ProcessCPUHistory.Key(pid: 2318, startTicks: worker.startTicks)])
        descriptions.keepOnly([key])
        #expect(descriptions.keys == [key])
        descriptions.keepOnly([])
        #expect(descriptions.keys.isEmpty)
    }

    /// Through the collector: the processes listed keep their descriptions, the others are dropped.
    @Test func theCollectorKeepsOnlyTheListedProcesses() async throws {
        var settings = ProcessesSettings()
        settings.top = 1
        let collector = ProcessesCollector(settings: settings, ticksPerSecond: 100, pageSize: 4096)
        let step0 = HostPaths(fixtureRoot: Fixtures.root + "/cases/processes/debian12-services/step0")
        let step1 = HostPaths(fixtureRoot: Fixtures.root + "/cases/processes/debian12-services/step1")
        let first = try #require(try await collector.collect(Fixtures.context(step0)).processes)
        // First collection: no CPU figures yet, so only the largest process by memory (2445, 3357 pages) is listed.
        #expect(first.topByCPU.isEmpty)
        #expect(first.topByMemory.map(\.pid) == [2445])
        let second = try #require(try await collector.collect(Fixtures.context(step1)).processes)
        #expect(second.topByCPU.map(\.pid) == [8219])
        #expect(second.topByCPU.first?.command == "/root/.pyenv/versions/3.11.7/bin/python3 -c while True: pass")
        #expect(second.topByCPU.first?.uid == 0)
        #expect(second.topByMemory.map(\.pid) == [2445])
        #expect(await collector.describedPIDs == [2445, 8219])
    }
}
