//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Logging
import ServiceLifecycleTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct StartupMemoryReleaseTests {
    @Test func findsOnlyTheExecutablesCodeMappings() {
        // Captured from `cat /proc/PID/maps` of a running agent (trimmed).
        let maps = """
            5558ee17f000-5558f0175000 r-xp 00000000 fe:00 5392077                    /usr/local/bin/viworks-agent
            5558f0176000-5558f0255000 r--p 01ff6000 fe:00 5392077                    /usr/local/bin/viworks-agent
            5558f0255000-5558f26d3000 rw-p 020d5000 fe:00 5392077                    /usr/local/bin/viworks-agent
            5558f26d3000-5558f27df000 rw-p 00000000 00:00 0 
            7f011a644000-7f011a79a000 r-xp 00026000 fe:00 333151                     /usr/lib/x86_64-linux-gnu/libc.so.6
            7f011b000000-7f011b001000 r-xp 00000000 fe:00 777                        /opt/my agent/viworks-agent
            """
        func executableCodeRanges(maps: String, executable: String) -> [Range<UInt>] {
            StartupMemoryRelease.executableMappings(maps: maps, executable: executable).filter { $0.permissions == "r-xp" }.map(\.range)
        }
        #expect(
            executableCodeRanges(maps: maps, executable: "/usr/local/bin/viworks-agent")
                == [0x5558_ee17_f000..<0x5558_f017_5000])
        // A path with a space (the kernel prints it as is after the inode).
        #expect(executableCodeRanges(maps: maps, executable: "/opt/my agent/viworks-agent") == [0x7f01_1b00_0000..<0x7f01_1b00_1000])
        #expect(executableCodeRanges(maps: maps, executable: "/nope").isEmpty)
    }

    @Test func findsTheSharedLibrariesMappings() {
        // Captured from `cat /proc/PID/maps` of a running agent (trimmed), plus a library path with a space, a shared
        // (`rw-s`) mapping of a library, and files that only look like libraries.
        let maps = """
            55d4470de000-55d447e41000 r--p 00000000 fe:00 16220257                   /usr/local/bin/viworks-agent
            7f17e1400000-7f17e1428000 r--p 00000000 fe:00 12591431                   /usr/lib/x86_64-linux-gnu/libc.so.6
            7f17e1428000-7f17e15bd000 r-xp 00028000 fe:00 12591431                   /usr/lib/x86_64-linux-gnu/libc.so.6
            7f17e1619000-7f17e161b000 rw-p 00218000 fe:00 12591431                   /usr/lib/x86_64-linux-gnu/libc.so.6
            7f17e1800000-7f17e18b1000 r-xp 00013000 fe:00 12590002                   /usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6
            7f17e1a00000-7f17e1a01000 r-xp 00000000 fe:00 999                        /opt/my libs/libplugin.so
            7f17e1a10000-7f17e1a11000 rw-s 00000000 fe:00 999                        /opt/my libs/libplugin.so
            7f17e1b00000-7f17e1b01000 r--p 00000000 fe:00 998                        /var/lib/viworks-agent/history.so.db-wal
            7f17e1b10000-7f17e1b11000 r--p 00000000 fe:00 997                        /var/lib/viworks-agent/.so
            7f17e1c00000-7f17e1c21000 rw-p 00000000 00:00 0                          [heap]
            7ffd5e1f2000-7ffd5e1f4000 r-xp 00000000 00:00 0                          [vdso]
            """
        let mappings = StartupMemoryRelease.sharedLibraryMappings(maps: maps)
        #expect(mappings.map(\.range) == [
            0x7f17_e140_0000..<0x7f17_e142_8000, 0x7f17_e142_8000..<0x7f17_e15b_d000, 0x7f17_e161_9000..<0x7f17_e161_b000,
            0x7f17_e180_0000..<0x7f17_e18b_1000, 0x7f17_e1a0_0000..<0x7f17_e1a0_1000,
        ])
        #expect(mappings.map(\.permissions) == ["r--p", "r-xp", "rw-p", "r-xp", "r-xp"])
    }

    @Test func releasingTheTestProcesssSharedLibrariesIsHarmless() {
        // libc's code among them: the pages in use fault back in as the test goes on.
        #expect(StartupMemoryRelease.releaseSharedLibraryPages() > 0)
        #expect(Timestamp(nanosecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000000000+00:00")
    }

    /// In a private mapping of a file, the pages read are the file's and the page written is an anonymous copy: only
    /// the runs of the former are released, and the written value survives the release.
    @Test func onlyPagesStillTheFilesAreReleasedFromADataMapping() throws {
        let path = "/tmp/viworks-pagemap-\(getpid())"
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        try #require(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }
        let bytes = [UInt8](repeating: 7, count: page * 4)
        #expect(write(descriptor, bytes, bytes.count) == bytes.count)
        let mapped = try #require(mmap(nil, page * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE, descriptor, 0))
        try #require(mapped != MAP_FAILED)
        defer { munmap(mapped, page * 4) }
        let memory = mapped.assumingMemoryBound(to: UInt8.self)
        var sum = 0
        for index in 0..<4 { sum += Int(memory[index * page]) }  // every page read: present, the file's
        #expect(sum == 28)
        memory[2 * page] = 9  // the third page written: an anonymous copy
        let pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        try #require(pagemap >= 0)
        defer { close(pagemap) }
        let start = UInt(bitPattern: mapped)
        let range = start..<(start + UInt(page * 4))
        let expected = [start..<(start + UInt(page * 2)), (start + UInt(page * 3))..<(start + UInt(page * 4))]
        #expect(StartupMemoryRelease.cleanFilePageRuns(range, pagemap: pagemap) == expected)
        // After the release the file's pages read the file again, and the written page keeps its value.
        let maps = try #require(HostFile.readIfPresent("/proc/self/maps"))
        #expect(StartupMemoryRelease.executableMappings(maps: maps, executable: path).map(\.range) == [range])
        #expect(StartupMemoryRelease.releaseExecutablePages(maps: maps, executable: path) == page * 3)
        #expect(memory[0] == 7 && memory[page] == 7 && memory[2 * page] == 9 && memory[3 * page] == 7)
    }

    @Test func releasingTheTestBinarysOwnCodeIsHarmless() {
        // The running test binary's code is paged out and faults back in as the test goes on.
        let advised = StartupMemoryRelease.releaseExecutablePages()
        #expect(advised > 0)
        #expect(Timestamp(nanosecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000000000+00:00")
    }

    typealias Records = Box<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>

    static func releases(_ records: Records) -> [Logger.Metadata] {
        records.get.filter { $0.message == "released start-up memory" }.map(\.metadata)
    }

    @Test func theServiceReleasesOnceWhenReadyAndRunsUntilShutdown() async throws {
        let records = Records([])
        let ready = Box(false)
        let finished = Box(false)
        let cachesReleased = Box(0)
        let service = StartupMemoryRelease(
            isReady: { ready.get }, delay: .milliseconds(50), releaseCaches: { cachesReleased.update { $0 += 1 } },
            logger: Logger(label: "test", factory: { _ in RecordingLogHandler(records: records) }))
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await service.run()
                    finished.set(true)
                }
                try await Task.sleep(for: .milliseconds(400))
                #expect(Self.releases(records).isEmpty)
                #expect(cachesReleased.get == 0)
                ready.set(true)
                #expect(await eventually { Self.releases(records).count == 1 })
                let advised = Self.releases(records).first?["memory.bytes_advised"].flatMap { Int("\($0)") } ?? 0
                #expect(advised > 0)
                try await Task.sleep(for: .milliseconds(300))
                #expect(!finished.get)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        #expect(finished.get)
        #expect(Self.releases(records).count == 1)
        #expect(cachesReleased.get == 1)
    }

    @Test func theServiceEndsAtShutdownWithoutReleasingWhenNeverReadyOrDisabled() async throws {
        for enabled in [true, false] {
            let records = Records([])
            let service = StartupMemoryRelease(
                enabled: enabled, isReady: { !enabled }, delay: .milliseconds(10),
                logger: Logger(label: "test", factory: { _ in RecordingLogHandler(records: records) }))
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await service.run() }
                    try await Task.sleep(for: .milliseconds(300))
                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }
            #expect(Self.releases(records).isEmpty)
        }
    }
}
