//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import AgentRuntime
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `viworks-bench containers [N]`: create-to-running latency of a session container, p50 and p99 of `N` runs (20 by
/// default) of each of three ways of starting the same container (same image, limits and port publishing):
///
/// - `SessionManager.create`: the agent's path (template resolution, limits, port allocation and probe, image check,
///   the session record written three times, create, start);
/// - Engine API create + start: the two calls alone, through the same client;
/// - `docker run -d`: the Docker CLI, timed from spawn to exit.
///
/// The three are interleaved (the order rotates each round) so that the host's load falls on all of them alike, then
/// one table gives the ratios to `docker run -d` and to the bare API. Then the status reports of 20 running
/// containers (one `ContainerReporter.reports` pass: list, inspect and a one-shot stats read each), median of 5.
///
/// Starts a `dockerd` of its own (own socket, data root and exec root under `/tmp`), as the real-engine tests do, and
/// imports a busybox `httpd` image from `busybox-static` (no registry). Needs root, `dockerd`, `docker` and busybox.
enum ContainersBench {
    static let image = "agent-bench/busybox"
    static let dockerd = "/usr/sbin/dockerd"
    static let dockerCLI = "/usr/bin/docker"
    static let firstPort = 24_000

    static func run(arguments: [String]) async throws {
        let rounds = max(1, arguments.first.flatMap(Int.init) ?? 20)
        guard getuid() == 0 else { throw BenchError("viworks-bench containers needs root (it starts dockerd)") }
        for tool: String in [dockerd, dockerCLI] where access(tool, X_OK) != 0 { throw BenchError("\(tool) is missing (apt-get install docker.io)") }
        let candidates: [String] = ["/bin/busybox", "/usr/bin/busybox"]
        guard let busybox = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw BenchError("busybox is missing (apt-get install busybox-static)")
        }
        var template = Array("/tmp/vwbench-docker-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw BenchError("mkdtemp: \(String(cString: strerror(errno)))") }
        let root = String(cString: made)
        let socket = root + "/docker.sock"
        let daemon = try spawn(
            [dockerd, "--data-root", root + "/data", "--exec-root", root + "/exec", "--pidfile", root + "/dockerd.pid", "-H", "unix://" + socket],
            log: root + "/dockerd.log")
        let engine = DockerEngine(socketPath: socket, timeout: .seconds(30))
        do {
            try await waitForEngine(engine, daemon: daemon)
            try await importImage(engine, busybox: busybox, root: root)
            try await measure(engine: engine, socket: socket, root: root, rounds: rounds)
        } catch {
            await stop(engine: engine, daemon: daemon, root: root)
            throw error
        }
        await stop(engine: engine, daemon: daemon, root: root)
    }

    static func measure(engine: DockerEngine, socket: String, root: String, rounds: Int) async throws {
        var settings = ContainerSettings()
        settings.enabled = .on
        settings.socket = socket
        settings.agentID = "bench-\(getpid())"
        settings.portRange = firstPort...(firstPort + 99)
        settings.maxSessions = 100
        settings.maxSessionsPerUser = 100
        settings.stopGracePeriod = .seconds(1)
        settings.templates = ["web": webTemplate()]
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let store = try SessionStore(path: root + "/sessions/sessions.sqlite")
        let manager = try await SessionManager(settings: settings, engine: engine, store: store, logger: logger)
        try await manager.connect()
        // As in the agent: the event stream and the reaper run beside the creates.
        let running = Task { await manager.run() }
        defer { running.cancel() }

        let labels = [SessionLabels.agent: settings.agentID]
        let clock = ContinuousClock()
        var managed: [Duration] = []
        var api: [Duration] = []
        var cli: [Duration] = []
        // Hosts ports for the API and CLI runs, above the manager's range.
        let apiPort = firstPort + 100
        let cliPort = firstPort + 101
        for round in 0..<rounds {
            for step in 0..<3 {
                switch (round + step) % 3 {
                case 0:
                    let started = clock.now
                    let session = try await manager.create(SessionRequest(username: "bench", template: "web"))
                    managed.append(clock.now - started)
                    _ = try await manager.delete(session.sessionID)
                case 1:
                    let started = clock.now
                    let id = try await engine.createContainer(name: nil, createRequest(labels: labels, hostPort: apiPort))
                    try await engine.startContainer(id)
                    api.append(clock.now - started)
                    try await engine.removeContainer(id, force: true)
                default:
                    let name = "vwbench-cli-\(round)"
                    let started = clock.now
                    let status = try wait(
                        spawn(
                            [
                                dockerCLI, "-H", "unix://" + socket, "run", "-d", "--name", name, "--label", "\(SessionLabels.agent)=\(settings.agentID)",
                                "--memory", "64m", "--memory-swap", "64m", "--cpu-shares", "256", "--cpus", "0.5", "--pids-limit", "64", "--init",
                                "--read-only", "--tmpfs", "/tmp", "--security-opt", "no-new-privileges", "--cap-drop", "ALL", "-p",
                                "127.0.0.1:\(cliPort):8080", image,
                            ], log: root + "/cli.log"))
                    cli.append(clock.now - started)
                    guard status == 0 else { throw BenchError("docker run -d failed (status \(status)): see \(root)/cli.log") }
                    try await engine.removeContainer(name, force: true)
                }
            }
        }
        #if DEBUG
        let build = "debug build"
        #else
        let build = "release build"
        #endif
        print("viworks-bench containers: create-to-running of \(image) (httpd), \(rounds) runs each, interleaved, same limits and port publishing (\(build))")
        print(
            Bench.pad("path", 34) + Bench.pad("p50 ms", 9) + Bench.pad("p99 ms", 9) + Bench.pad("p50/CLI", 9) + Bench.pad("p99/CLI", 9)
                + Bench.pad("p50/API", 9) + "p99/API")
        let cliP50 = percentile(cli, 0.5)
        let cliP99 = percentile(cli, 0.99)
        let apiP50 = percentile(api, 0.5)
        let apiP99 = percentile(api, 0.99)
        for (name, samples) in [("SessionManager.create", managed), ("Engine API create+start", api), ("docker run -d (CLI)", cli)] {
            let p50 = percentile(samples, 0.5)
            let p99 = percentile(samples, 0.99)
            print(
                Bench.pad(name, 34) + Bench.pad(milliseconds(p50), 9) + Bench.pad(milliseconds(p99), 9) + Bench.pad(ratio(p50, cliP50), 9)
                    + Bench.pad(ratio(p99, cliP99), 9) + Bench.pad(ratio(p50, apiP50), 9) + ratio(p99, apiP99))
        }

        // Status reports of 20 running containers: sampled together, so about one collection tick of the engine.
        let sessions = try await withThrowingTaskGroup(of: Session.self) { group in
            for index in 0..<20 { group.addTask { try await manager.create(SessionRequest(username: "user\(index % 4)", template: "web")) } }
            return try await group.reduce(into: [Session]()) { $0.append($1) }
        }
        let reporter = ContainerReporter(engine: engine)
        var passes: [Duration] = []
        for _ in 0..<5 {
            let started = clock.now
            let reports = try await reporter.reports(labels: [manager.agentLabel])
            passes.append(clock.now - started)
            guard reports.count == sessions.count else { throw BenchError("\(reports.count) reports of \(sessions.count) containers") }
        }
        print(
            "status reports of 20 running containers: median \(milliseconds(percentile(passes, 0.5))) ms, "
                + "max \(milliseconds(passes.max() ?? .zero)) ms (5 passes)")
        for session in sessions { _ = try? await manager.delete(session.sessionID) }
        try? store.close()
    }

    /// The session template of the measured container: busybox httpd with the limits the real-engine tests use.
    static func webTemplate() -> SessionTemplate {
        var web = SessionTemplate(image: image, port: 8080)
        web.memory = 64 << 20
        web.memoryMax = 64 << 20
        web.cpuShares = 256
        web.cpuSharesMax = 1024
        web.cpus = 0.5
        web.pidsLimit = 64
        web.readOnly = true
        web.tmpfs = ["/tmp"]
        return web
    }

    /// What `docker run -d` sends for the same container: the template's limits, `8080/tcp` on `hostPort`.
    static func createRequest(labels: [String: String], hostPort: Int) -> ContainerCreateRequest {
        let web = webTemplate()
        return ContainerCreateRequest(
            image: image, cmd: nil, env: [], labels: labels, exposedPorts: ["8080/tcp": EmptyObject()],
            hostConfig: .init(
                memory: web.memory, memorySwap: web.memory, cpuShares: web.cpuShares, nanoCPUs: 500_000_000, pidsLimit: Int64(web.pidsLimit),
                initProcess: true, readonlyRootfs: true, tmpfs: ["/tmp": ""], securityOpt: ["no-new-privileges"], capDrop: ["ALL"], capAdd: [],
                portBindings: ["8080/tcp": [PortBinding(hostIP: "127.0.0.1", hostPort: "\(hostPort)")]], privileged: false))
    }

    /// Nearest rank: the smallest sample with at least `fraction` of the samples at or below it.
    static func percentile(_ samples: [Duration], _ fraction: Double) -> Duration {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return .zero }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }

    static func milliseconds(_ duration: Duration) -> String {
        let value = duration.secondsDouble * 1000
        return String(Int(value)) + "." + String(Int((value * 10).rounded()) % 10)
    }

    static func ratio(_ value: Duration, _ base: Duration) -> String {
        guard base > .zero else { return "-" }
        let hundredths = Int((value / base * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    // MARK: - The engine

    /// Waits (at most 60 s) until the daemon answers `/_ping`.
    static func waitForEngine(_ engine: DockerEngine, daemon: pid_t) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while clock.now < deadline {
            if (try? await engine.ping()) != nil {
                try await engine.negotiate()
                return
            }
            var status: Int32 = 0
            if waitpid(daemon, &status, WNOHANG) == daemon { throw BenchError("dockerd exited at start (status \(status))") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("dockerd did not answer /_ping within 60 s")
    }

    /// Imports ``image``: a busybox root filesystem with `/www/index.html`, its command `httpd -f -p 8080 -h /www`.
    static func importImage(_ engine: DockerEngine, busybox: String, root: String) async throws {
        let rootfs = root + "/rootfs"
        let script = """
            set -e
            mkdir -p '\(rootfs)/bin' '\(rootfs)/etc' '\(rootfs)/www' '\(rootfs)/tmp'
            cp '\(busybox)' '\(rootfs)/bin/busybox'
            for applet in sh httpd sleep; do ln -s busybox "\(rootfs)/bin/$applet"; done
            echo 'root:x:0:0:root:/root:/bin/sh' > '\(rootfs)/etc/passwd'
            echo hello > '\(rootfs)/www/index.html'
            tar -C '\(rootfs)' -cf '\(root)/rootfs.tar' .
            """
        let status = try wait(spawn(["/bin/sh", "-c", script], log: root + "/image.log"))
        guard status == 0 else { throw BenchError("building the image's root filesystem failed (status \(status)): see \(root)/image.log") }
        let command = #"CMD ["/bin/httpd","-f","-p","8080","-h","/www"]"#
        try await engine.importImage(tarball: readBytes(root + "/rootfs.tar"), repository: image, changes: [command])
    }

    /// Removes every container, stops the daemon (SIGTERM, SIGKILL after 20 s) and deletes its directory.
    static func stop(engine: DockerEngine, daemon: pid_t, root: String) async {
        if let containers = try? await engine.listContainers() {
            for container in containers { try? await engine.removeContainer(container.id, force: true) }
        }
        try? await engine.shutdown()
        kill(daemon, SIGTERM)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        var status: Int32 = 0
        var exited = false
        while clock.now < deadline {
            if waitpid(daemon, &status, WNOHANG) == daemon {
                exited = true
                break
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        if !exited {
            kill(daemon, SIGKILL)
            _ = waitpid(daemon, &status, 0)
        }
        _ = try? wait(spawn(["/bin/rm", "-rf", root], log: "/dev/null"))
    }

    static func readBytes(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw BenchError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return bytes
    }

    /// posix_spawn with stdin from /dev/null and stdout and stderr appended to `log`.
    static func spawn(_ arguments: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let environment: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), nil]
        defer { for pointer in environment { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, arguments[0], &actions, nil, argv, environment)
        guard result == 0 else { throw BenchError("posix_spawn \(arguments[0]): \(String(cString: strerror(result)))") }
        return child
    }

    /// Waits for a child; its exit status (128 + the signal when killed).
    static func wait(_ child: pid_t) throws -> Int32 {
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 {
            guard errno == EINTR else { throw BenchError("waitpid: \(String(cString: strerror(errno)))") }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
