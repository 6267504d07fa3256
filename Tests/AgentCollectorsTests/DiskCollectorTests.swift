//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentCollectors
import AgentRuntime
import Dispatch
import Glibc
import Synchronization
import Testing

/// A fake `statvfs` keyed by mount point (the path with the fixture root removed); a path listed
/// in `hanging` blocks until `release()`, like a dead NFS server, then answers from `table`.
private final class FakeStatfs: Sendable {
    let root: String
    let table: [String: StatfsResult]
    let hanging: Set<String>
    private let gate = DispatchSemaphore(value: 0)
    private let calls = Mutex<[String: Int]>([:])
    /// The thread each call ran on (`/proc/thread-self`: PID/task/TID), in call order.
    let threads = Mutex<[String]>([])
    private let released = Mutex(false)
    private let asking = Mutex(0)

    /// With `together`, the hanging mounts answer (from `table`) once every one of them is being asked at the same time.
    let together: Bool

    init(root: String, table: [String: StatfsResult], hanging: Set<String> = [], together: Bool = false) {
        self.root = root
        self.table = table
        self.hanging = hanging
        self.together = together
    }

    func callCount(_ mountPoint: String) -> Int { calls.withLock { $0[mountPoint, default: 0] } }

    /// Unblocks the stuck calls; later calls answer at once.
    func release() {
        released.withLock { $0 = true }
        for _ in 0..<64 { gate.signal() }
    }

    var function: StatfsFunction {
        { [self] path in
            let mountPoint = path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
            let key = mountPoint.isEmpty ? "/" : mountPoint
            calls.withLock { $0[key, default: 0] += 1 }
            threads.withLock { $0.append(HostFile.readLink("/proc/thread-self") ?? "?") }
            if hanging.contains(key), !released.withLock({ $0 }) {
                let asked = asking.withLock { count in
                    count += 1
                    return count
                }
                if together, asked == hanging.count { release() } else { gate.wait() }
            }
            return table[key] ?? .failed(ENOENT)
        }
    }
}

@Suite("disk")
struct DiskCollectorTests {
    static let host = "docker-host-bind-mounts"

    @Test func reservedBlocksCountAsUsedLikeDf() {
        // used = (1000 − 100) × 4096; usage = 900 / (900 + 50) = 94.74 %, not 900 / 1000 = 90 %.
        let usage = FilesystemUsage.compute(FilesystemStats(blockSize: 4096, blocks: 1000, blocksFree: 100, blocksAvailable: 50))
        #expect(usage == FilesystemUsage(totalBytes: 4_096_000, usedBytes: 3_686_400, availableBytes: 204_800, usagePercent: 94.74))
        // f_frsize is the unit of the counts when set.
        let fragments = FilesystemUsage.compute(
            FilesystemStats(blockSize: 4096, fragmentSize: 1024, blocks: 1000, blocksFree: 100, blocksAvailable: 50))
        #expect(fragments.totalBytes == 1_024_000)
        // An empty filesystem (0 blocks, e.g. a pseudo fs let through by include_fs_types) is 0 %, not NaN.
        #expect(FilesystemUsage.compute(FilesystemStats(blockSize: 4096, blocks: 0, blocksFree: 0, blocksAvailable: 0)).usagePercent == 0)
        // Inconsistent counters (bfree > blocks) never underflow.
        #expect(FilesystemUsage.compute(FilesystemStats(blockSize: 512, blocks: 10, blocksFree: 20, blocksAvailable: 20)).usedBytes == 0)
    }

    @Test func parsesMountinfoWithOptionalFieldsAndEscapes() throws {
        let mounts = try MountInfoParser.parse(HostFile.read(Fixtures.host(Self.host).proc("self/mountinfo")))
        #expect(mounts.count == 19)
        let usb = try #require(mounts.first { $0.major == 8 && $0.minor == 17 })
        #expect(usb.mountPoint == "/media/USB Drive")
        #expect(usb.fsType == "vfat")
        #expect(usb.source == "/dev/sdb1")
        let www = try #require(mounts.first { $0.mountPoint == "/var/www" })
        #expect(www.root == "/www")
        #expect(www.readOnly)
        #expect(www.mountID == 45 && www.parentID == 28)
        let overlay = try #require(mounts.first { $0.fsType == "overlay" })  // no optional fields at all
        #expect(overlay.source == "overlay")
        let nsfs = try #require(mounts.first { $0.fsType == "nsfs" })
        #expect(nsfs.root == "net:[4026532612]")

        let several = try MountInfoParser.parse("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 propagate_from:3 - ext3 /dev/root rw,errors=continue\n")
        #expect(several.first?.fsType == "ext3")
        #expect(several.first?.source == "/dev/root")
        #expect(several.first?.superOptions == ["rw", "errors=continue"])
        #expect(MountInfoParser.unescape(#"/a\040b\011c\012d\134e\999\04"#) == "/a b\tc\nd\\e\\999\\04")
    }

    @Test func malformedMountinfoThrows() {
        #expect(throws: ParseError(file: "/proc/self/mountinfo", line: 2, reason: "\"8-1\" is not major:minor")) {
            try MountInfoParser.parse("28 1 259:2 / / rw - ext4 /dev/a rw\n29 1 8-1 / /b rw - ext4 /dev/b rw\n")
        }
        #expect(throws: ParseError.self) { try MountInfoParser.parse("28 1 259:2 / / rw ext4 /dev/a rw\n") }
        #expect(throws: ParseError.self) { try MountInfoParser.parse("28 1 259:2 / / rw shared:1 -\n") }
    }

    @Test func selectionExcludesPseudoFilesystemsAndCountsBindMountsOnce() throws {
        let mounts = try MountInfoParser.parse(HostFile.read(Fixtures.host(Self.host).proc("self/mountinfo")))
        let selected = FilesystemSelection.select(mounts, settings: DiskSettings())
        // sysfs, proc, devtmpfs, devpts, tmpfs, securityfs, cgroup2, cgroup, overlay and nsfs are excluded;
        // /export/data is a second bind mount of 253:0 root "/" (kept: the shorter /srv/data);
        // /var/www mounts another root (/www) of that device, so it is its own entry.
        #expect(selected.map(\.mountPoint) == ["/", "/boot/efi", "/srv/data", "/var/www", "/media/USB Drive", "/mnt/nfs"])

        var onlyTmpfs = DiskSettings()
        onlyTmpfs.includeFSTypes = ["tmpfs"]
        // /dev/shm is tmpfs too but /dev/* is an excluded mount point.
        #expect(FilesystemSelection.select(mounts, settings: onlyTmpfs).map(\.mountPoint) == ["/run", "/run/user/1000"])

        var noMedia = DiskSettings()
        noMedia.excludeMountPoints = ["/media/*", "/mnt/nfs"]
        #expect(FilesystemSelection.select(mounts, settings: noMedia).map(\.mountPoint) == ["/", "/boot/efi", "/srv/data", "/var/www"])
        #expect(!FilesystemSelection.isExcluded(mountPoint: "/media", patterns: ["/media/*"]))
    }

    @Test func bindMountKeepsShortestMountPointAndOvermountKeepsVisible() throws {
        let mounts = try MountInfoParser.parse(
            """
            28 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw
            40 28 253:0 / /var/lib/docker/volumes/data rw - xfs /dev/mapper/vg0-data rw
            41 28 253:0 / /data rw - xfs /dev/mapper/vg0-data rw
            50 28 8:1 / /backup rw - ext4 /dev/sda1 rw
            51 50 8:2 / /backup rw - ext4 /dev/sdb1 rw
            """)
        let selected = FilesystemSelection.select(mounts, settings: DiskSettings())
        #expect(selected.map(\.mountPoint) == ["/", "/data", "/backup"])
        #expect(selected.last?.source == "/dev/sdb1")
    }

    @Test func collectorWithStaleNFS() async throws {
        let paths = Fixtures.host(Self.host)
        let gib10 = FilesystemStats(blockSize: 4096, fragmentSize: 4096, blocks: 2_621_440, blocksFree: 1_310_720, blocksAvailable: 1_310_720, files: 5_000_000, filesFree: 4_000_000)
        let fake = FakeStatfs(
            root: paths.rootfs,
            table: [
                "/": .ok(FilesystemStats(blockSize: 4096, fragmentSize: 4096, blocks: 1000, blocksFree: 100, blocksAvailable: 50, files: 640, filesFree: 600)),
                "/srv/data": .ok(gib10),
                "/var/www": .ok(gib10),
                "/media/USB Drive": .ok(FilesystemStats(blockSize: 32768, fragmentSize: 32768, blocks: 1000, blocksFree: 250, blocksAvailable: 250)),
                "/mnt/nfs": .ok(gib10),
                // /boot/efi is not in the table: ENOENT, left out.
            ],
            hanging: ["/mnt/nfs"])
        var settings = DiskSettings()
        // A long timeout, so that "did not wait for it" below holds on a loaded machine too.
        settings.statfsTimeout = .seconds(2)
        let collector = DiskCollector(settings: settings, statfs: fake.function)

        let output = try await collector.collect(Fixtures.context(paths))
        let report = try #require(output.disk)
        #expect(report.filesystems.map(\.mountPoint) == ["/", "/srv/data", "/var/www", "/media/USB Drive", "/mnt/nfs"])
        // "/" : 94.74 % (reserved blocks), as in reservedBlocksCountAsUsedLikeDf.
        #expect(report.rootUsagePercent == 94.74)
        #expect(
            report.filesystems[0]
                == FilesystemReport(
                    device: "/dev/nvme0n1p2", mountPoint: "/", fsType: "ext4", totalBytes: 4_096_000, usedBytes: 3_686_400,
                    availableBytes: 204_800, usagePercent: 94.74, inodesTotal: 640, inodesFree: 600, readOnly: false, stale: false))
        // 10 GiB half used: 50 %; /var/www is read-only from its mount options.
        #expect(report.filesystems[1].usagePercent == 50)
        #expect(report.filesystems[1].totalBytes == 10_737_418_240)
        #expect(report.filesystems[2].readOnly)
        // USB: 750 used of 750 + 250 → 75 %.
        #expect(report.filesystems[3].usagePercent == 75)
        #expect(
            report.filesystems[4]
                == FilesystemReport(
                    device: "fileserver:/export/home", mountPoint: "/mnt/nfs", fsType: "nfs4", totalBytes: 0, usedBytes: 0,
                    availableBytes: 0, usagePercent: 0, inodesTotal: 0, inodesFree: 0, readOnly: false, stale: true))

        #expect(output.value("viworks_disk_usage_percent") == 94.74)
        #expect(output.value("viworks_filesystem_usage_percent", ["mountpoint": "/", "device": "/dev/nvme0n1p2", "fstype": "ext4"]) == 94.74)
        #expect(output.value("viworks_filesystem_size_bytes", ["mountpoint": "/srv/data"]) == 10_737_418_240)
        #expect(output.value("viworks_filesystem_avail_bytes", ["mountpoint": "/"]) == 204_800)
        #expect(output.value("viworks_filesystem_used_bytes", ["mountpoint": "/"]) == 3_686_400)
        #expect(output.value("viworks_filesystem_files", ["mountpoint": "/"]) == 640)
        #expect(output.value("viworks_filesystem_files_free", ["mountpoint": "/"]) == 600)
        #expect(output.value("viworks_filesystem_readonly", ["mountpoint": "/var/www"]) == 1)
        #expect(output.value("viworks_filesystem_stale", ["mountpoint": "/mnt/nfs"]) == 1)
        #expect(output.value("viworks_filesystem_stale", ["mountpoint": "/"]) == 0)
        #expect(output.value("viworks_filesystem_size_bytes", ["mountpoint": "/mnt/nfs"]) == nil)
        expectWellFormed(output)

        // While the first call is stuck, the next collection does not call statvfs on /mnt/nfs again
        // and does not wait for the timeout either.
        let start = ContinuousClock.now
        let again = try await collector.collect(Fixtures.context(paths))
        #expect(ContinuousClock.now - start < .seconds(1), "the second collection did not wait for the 2 s timeout")
        #expect(again.disk?.filesystems.last?.stale == true)
        #expect(fake.callCount("/mnt/nfs") == 1)
        #expect(fake.callCount("/") == 2)

        // The server comes back: the stuck call returns, and a later collection sees real numbers.
        fake.release()
        var recovered = false
        for _ in 0..<50 where !recovered {
            try await Task.sleep(for: .milliseconds(20))
            let output = try await collector.collect(Fixtures.context(paths))
            recovered = output.disk?.filesystems.last.map { !$0.stale && $0.usagePercent == 50 } ?? false
        }
        #expect(recovered)
        #expect(fake.callCount("/mnt/nfs") == 2)
    }

    @Test func aCaptureReplaysTheStatvfsAnswersItRecorded() async throws {
        // `capture` records each mount's answer; `collect --root` of the capture uses them and never calls statvfs
        // (under the capture's directory it would size the replaying machine's disk instead).
        let source = Fixtures.host(Self.host)
        let usb = FilesystemStats(blockSize: 32768, fragmentSize: 32768, blocks: 1000, blocksFree: 250, blocksAvailable: 250, files: 7, filesFree: 3)
        let fake = FakeStatfs(
            root: source.rootfs,
            table: ["/": .ok(FilesystemStats(blockSize: 4096, blocks: 1000, blocksFree: 100, blocksAvailable: 50, readOnly: true)), "/media/USB Drive": .ok(usb)],
            hanging: ["/mnt/nfs"])
        var settings = DiskSettings()
        settings.statfsTimeout = .milliseconds(200)
        var template = Array("/tmp/viworks-disk-capture-XXXXXX".utf8CString)
        let tree = String(cString: try #require(mkdtemp(&template)))
        defer { HostCapture.removeTree(tree) }
        try await DiskCollector(settings: settings, statfs: fake.function).record(from: source, into: HostPaths(fixtureRoot: tree))
        fake.release()
        let record = try HostFile.read(tree + "/viworks-capture/statvfs")
        #expect(record.contains("32768 32768 1000 250 250 7 3 0 /media/USB\\040Drive\n"))
        #expect(record.contains("timeout /mnt/nfs\n"))

        let replay = HostPaths(procRoot: source.procRoot, sysRoot: source.sysRoot, rootfs: tree)
        let never: StatfsFunction = { path in
            Issue.record("statvfs(\(path)) called during a replay")
            return .failed(EIO)
        }
        let report = try #require(try await DiskCollector(statfs: never).collect(Fixtures.context(replay)).disk)
        // /srv/data and /var/www had no answer in the fake (ENOENT): left out, as they were on the captured host.
        #expect(report.filesystems.map(\.mountPoint) == ["/", "/media/USB Drive", "/mnt/nfs"])
        #expect(report.filesystems[0].readOnly)
        #expect(report.rootUsagePercent == 94.74)
        #expect(report.filesystems[1].usagePercent == 75)
        #expect(report.filesystems[1].inodesTotal == 7)
        #expect(report.filesystems[2].stale)
    }

    @Test func rootStaleOrMissingGivesNilRootUsage() async throws {
        let paths = Fixtures.host(Self.host)
        let fake = FakeStatfs(root: paths.rootfs, table: [:], hanging: ["/"])
        var settings = DiskSettings()
        settings.statfsTimeout = .milliseconds(50)
        let output = try await DiskCollector(settings: settings, statfs: fake.function).collect(Fixtures.context(paths))
        #expect(output.disk?.filesystems.map(\.mountPoint) == ["/"])
        #expect(output.disk?.filesystems.first?.stale == true)
        #expect(output.disk?.rootUsagePercent == nil)
        #expect(output.value("viworks_disk_usage_percent") == nil)
        fake.release()
    }

    @Test func manyHungMountsDoNotDelayTheOthers() async throws {
        // More slow mounts than cores, each answering only once all five are being asked at the same time: that
        // happens only when every statvfs has a thread of its own. Asked one after another, the first would wait out
        // the timeout and be reported stale.
        let paths = Fixtures.host(Self.host)
        let usb = FilesystemStats(blockSize: 32768, fragmentSize: 32768, blocks: 1000, blocksFree: 250, blocksAvailable: 250)
        let slow: Set<String> = ["/", "/boot/efi", "/srv/data", "/var/www", "/mnt/nfs"]
        let fake = FakeStatfs(
            root: paths.rootfs, table: Dictionary(uniqueKeysWithValues: slow.union(["/media/USB Drive"]).map { ($0, StatfsResult.ok(usb)) }), hanging: slow,
            together: true)
        var settings = DiskSettings()
        settings.statfsTimeout = .seconds(30)
        let collector = DiskCollector(settings: settings, statfs: fake.function)
        let output = try await collector.collect(Fixtures.context(paths))
        #expect(output.disk?.filesystems.map(\.stale) == [false, false, false, false, false, false])
        #expect(output.disk?.filesystems.map(\.usagePercent) == [75, 75, 75, 75, 75, 75])
        fake.release()
    }

    @Test func oneParkedWorkerMakesTheCallsOfEveryCollection() async {
        // No stall ever brings a second worker here: every call of three collections of four mounts runs on the one
        // worker that parks between them (one thread per call before: twelve).
        let answer = StatfsResult.ok(FilesystemStats(blockSize: 4096, blocks: 100, blocksFree: 50, blocksAvailable: 40))
        let mounts = ["/", "/boot", "/srv", "/var"]
        let fake = FakeStatfs(root: "", table: Dictionary(uniqueKeysWithValues: mounts.map { ($0, answer) }))
        let statfs = StatfsGuard(function: fake.function, stallInterval: .seconds(3600))
        for _ in 0..<3 {
            #expect(await statfs.stat(mounts, timeout: .seconds(30)) == [answer, answer, answer, answer])
        }
        let threads = fake.threads.withLock { $0 }
        #expect(threads.count == 12)
        #expect(Set(threads).count == 1, "\(threads)")
        #expect(threads.first?.hasPrefix("\(getpid())/task/") == true)
    }

    @Test func aHungCallDoesNotHoldUpTheCallAfterIt() async {
        // The worker hangs on the first mount; the second gets a worker of its own (once nothing was answered for the
        // stall interval, or at the deadline when the check for stalls runs late) and is answered. The hung mount is
        // stale, and is not asked again while its call is stuck.
        let answer = StatfsResult.ok(FilesystemStats(blockSize: 4096, blocks: 100, blocksFree: 50, blocksAvailable: 40))
        let fake = FakeStatfs(root: "", table: ["/mnt/nfs": answer, "/": answer], hanging: ["/mnt/nfs"])
        let statfs = StatfsGuard(function: fake.function)
        #expect(await statfs.stat(["/mnt/nfs", "/"], timeout: .milliseconds(500)) == [.timedOut, answer])
        #expect(await statfs.stat(["/mnt/nfs", "/"], timeout: .milliseconds(500)) == [.timedOut, answer])
        #expect(fake.callCount("/mnt/nfs") == 1 && fake.callCount("/") == 2)
        fake.release()
    }

    @Test func realStatvfs() {
        guard case .ok(let stats) = FilesystemStats.systemStatvfs(path: "/") else {
            Issue.record("statvfs(/) failed")
            return
        }
        #expect(stats.blocks > 0)
        #expect(FilesystemStats.systemStatvfs(path: "/definitely/not/here") == .failed(ENOENT))
    }
}
