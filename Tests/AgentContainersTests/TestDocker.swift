//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `dockerd` of the test run's own: its own socket, data root, exec root and pidfile under a fresh directory in
/// `/tmp`, started once for the suite that carries ``RealEngineTrait`` and stopped after it. The test image
/// `agent-test/busybox` is imported from a busybox-static root filesystem (no registry), its command
/// `httpd -f -p 8080 -h /www` serving `hello`.
///
/// Needs root, `dockerd` and `busybox`. Without them the suite is skipped, unless `VIWORKS_REQUIRE_DOCKER_TESTS=1`,
/// which makes it fail with the reason instead.
final class TestDocker: Sendable {
    @TaskLocal static var current: TestDocker?

    static let image = "agent-test/busybox"
    static let dockerd = "/usr/sbin/dockerd"
    static let busyboxCandidates = ["/bin/busybox", "/usr/bin/busybox"]
    static var required: Bool { ProcessInfo.processInfo.environment["VIWORKS_REQUIRE_DOCKER_TESTS"] == "1" }

    /// Why the engine cannot run here; nil when it can.
    static var missing: String? {
        if getuid() != 0 { return "the real-engine tests need root (dockerd)" }
        if access(dockerd, X_OK) != 0 { return "\(dockerd) is missing (apt-get install docker.io)" }
        if busybox == nil { return "busybox is missing (apt-get install busybox-static)" }
        return nil
    }

    static var busybox: String? { busyboxCandidates.first { access($0, X_OK) == 0 } }

    /// Run the suite when the engine can run, or when it is required (then its absence fails the suite).
    static var shouldRun: Bool { missing == nil || required }

    let root: String
    var socket: String { root + "/docker.sock" }
    let engine: DockerEngine
    private let pid = Mutex<pid_t>(0)

    private init(root: String) {
        self.root = root
        engine = DockerEngine(socketPath: root + "/docker.sock", timeout: .seconds(20))
    }

    /// Starts a daemon and imports the test image.
    static func start() async throws -> TestDocker {
        if let missing { throw TestDockerError(missing) }
        var template = Array("/tmp/vwdocker-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestDockerError("mkdtemp: \(String(cString: strerror(errno)))") }
        let docker = TestDocker(root: String(cString: made))
        do {
            try await docker.startDaemon()
            try await docker.importImage()
        } catch {
            await docker.stop()
            throw error
        }
        return docker
    }

    /// Starts `dockerd` and waits (at most 60 s) until it answers `/_ping`.
    func startDaemon() async throws {
        let arguments = [
            Self.dockerd, "--data-root", root + "/data", "--exec-root", root + "/exec", "--pidfile", root + "/dockerd.pid", "-H", "unix://" + socket,
        ]
        let started = try spawn(arguments, log: root + "/dockerd.log")
        pid.withLock { $0 = started }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while clock.now < deadline {
            if (try? await engine.ping()) != nil { return }
            var status: Int32 = 0
            if waitpid(started, &status, WNOHANG) == started {
                pid.withLock { $0 = 0 }
                throw TestDockerError("dockerd exited at start (status \(status)): \(logTail())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestDockerError("dockerd did not answer /_ping within 60 s: \(logTail())")
    }

    /// Stops `dockerd` (SIGTERM, SIGKILL after 20 s) and waits for it.
    func stopDaemon() async {
        let running = pid.withLock { value -> pid_t in
            defer { value = 0 }
            return value
        }
        guard running > 0 else { return }
        kill(running, SIGTERM)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        var status: Int32 = 0
        while clock.now < deadline {
            if waitpid(running, &status, WNOHANG) == running { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        kill(running, SIGKILL)
        _ = waitpid(running, &status, 0)
    }

    /// Removes every container, stops the daemon and deletes its directory.
    func stop() async {
        if let containers = try? await engine.listContainers() {
            for container in containers { try? await engine.removeContainer(container.id, force: true) }
        }
        await stopDaemon()
        try? await engine.shutdown()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Builds the busybox root filesystem, tars it and imports it as ``image``.
    private func importImage() async throws {
        guard let busybox = Self.busybox else { throw TestDockerError("busybox is missing") }
        let rootfs = root + "/rootfs"
        let files = FileManager.default
        for directory in ["bin", "etc", "www", "tmp", "data"] {
            try files.createDirectory(atPath: rootfs + "/" + directory, withIntermediateDirectories: true)
        }
        try files.copyItem(atPath: busybox, toPath: rootfs + "/bin/busybox")
        for applet in ["sh", "httpd", "sleep", "dd", "cat", "ls", "true", "head", "yes"] {
            try files.createSymbolicLink(atPath: rootfs + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try Data("root:x:0:0:root:/root:/bin/sh\n".utf8).write(to: URL(fileURLWithPath: rootfs + "/etc/passwd"))
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: rootfs + "/www/index.html"))
        let tarball = root + "/rootfs.tar"
        let tar = try spawn(["/bin/tar", "-C", rootfs, "-cf", tarball, "."], log: root + "/tar.log")
        var status: Int32 = 0
        _ = waitpid(tar, &status, 0)
        guard status == 0 else { throw TestDockerError("tar failed (status \(status))") }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tarball)))
        try await engine.importImage(tarball: bytes, repository: Self.image, changes: [#"CMD ["/bin/httpd","-f","-p","8080","-h","/www"]"#])
    }

    private func logTail() -> String {
        guard let data = FileManager.default.contents(atPath: root + "/dockerd.log") else { return "(no log)" }
        return String(decoding: data.suffix(1500), as: UTF8.self)
    }

    /// posix_spawn with a clean signal mask and default dispositions, stdin from /dev/null, stdout and stderr to `log`.
    private func spawn(_ arguments: [String], log: String) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        let environment: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        defer { for pointer in environment { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, arguments[0], &actions, &attributes, argv, environment)
        guard result == 0 else { throw TestDockerError("posix_spawn \(arguments[0]): \(String(cString: strerror(result)))") }
        return child
    }
}

struct TestDockerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Starts a ``TestDocker`` once around the suite (``TestDocker/current`` inside it) and stops it afterwards.
struct RealEngineTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let docker: TestDocker
        do {
            docker = try await TestDocker.start()
        } catch {
            if TestDocker.required { throw error }
            print("real-engine tests skipped: \(error)")
            try await function()
            return
        }
        do {
            try await TestDocker.$current.withValue(docker) { try await function() }
        } catch {
            await docker.stop()
            throw error
        }
        await docker.stop()
    }
}

extension Trait where Self == RealEngineTrait {
    /// Runs the suite against a dockerd of its own.
    static var realEngine: Self { Self() }
}
