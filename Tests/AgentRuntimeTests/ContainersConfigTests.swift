//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `[containers]` and `[containers.templates.<name>]`.
struct ContainersConfigTests {
    let helper = ConfigLoaderTests()

    @Test func defaults() throws {
        let containers = try helper.loader.load(path: nil, environment: [:]).containers
        #expect(containers.enabled == .auto)
        #expect(containers.socket == "/var/run/docker.sock")
        #expect(containers.portRange == 20000...20999)
        #expect(containers.publishAddress == "127.0.0.1")
        #expect(containers.maxSessions == 100 && containers.maxSessionsPerUser == 3)
        #expect(containers.keepExited == .seconds(3600))
        #expect(!containers.pull && !containers.showAll)
        #expect(containers.templates.isEmpty)
    }

    @Test func fullSectionParsesToItsValues() throws {
        let path = helper.file(
            """
            [containers]
            enabled = true
            socket = "/run/test/docker.sock"
            port_range = "21000-21099"
            publish_address = "127.0.0.2"
            max_sessions = 40
            max_sessions_per_user = 4
            keep_exited = "10m"
            pull = true
            show_all = true
            orphans = "remove"
            stop_grace_period = "3s"
            engine_timeout = "2s"
            keep_records = "7d"
            reap_interval = "500ms"
            agent_id = "edge-1"

            [containers.templates.web]
            image = "agent-test/busybox:latest"
            command = ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]
            env = { GREETING = "hello world", TZ = "UTC" }
            port = 8080
            memory = "64MiB"
            memory_max = "512MiB"
            cpu_shares = 256
            cpu_shares_max = 2048
            cpus = 1.5
            pids_limit = 64
            ttl = "2h"
            idle_timeout = "15m"
            read_only = true
            tmpfs = ["/tmp", "/run"]
            cap_add = ["NET_BIND_SERVICE"]

            [containers.templates.shell]
            image = "debian:12"
            port = 7681
            memory = 134217728
            """)
        defer { unlink(path) }
        let containers = try helper.loader.load(path: path, environment: ["VIWORKS_CONTAINERS_MAX_SESSIONS": "50"]).containers
        #expect(containers.enabled == .on && containers.isEnabled && containers.disabledReason == nil)
        #expect(containers.socket == "/run/test/docker.sock")
        #expect(containers.portRange == 21000...21099)
        #expect(containers.publishAddress == "127.0.0.2")
        // The environment wins over the file.
        #expect(containers.maxSessions == 50)
        #expect(containers.maxSessionsPerUser == 4)
        #expect(containers.keepExited == .seconds(600))
        #expect(containers.pull && containers.showAll)
        #expect(containers.orphans == .remove)
        #expect(containers.stopGracePeriod == .seconds(3))
        #expect(containers.engineTimeout == .seconds(2))
        #expect(containers.keepRecords == .seconds(7 * 86_400))
        #expect(containers.reapInterval == .milliseconds(500))
        #expect(containers.agentID == "edge-1")
        #expect(containers.templates.keys.sorted() == ["shell", "web"])

        let web = try #require(containers.templates["web"])
        #expect(web.image == "agent-test/busybox:latest")
        #expect(web.command == ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"])
        #expect(web.env == ["GREETING": "hello world", "TZ": "UTC"])
        #expect(web.port == 8080)
        #expect(web.memory == 67_108_864)  // 64 × 2^20
        #expect(web.memoryMax == 536_870_912)  // 512 × 2^20
        #expect(web.cpuShares == 256 && web.cpuSharesMax == 2048)
        #expect(web.cpus == 1.5)
        #expect(web.pidsLimit == 64)
        #expect(web.ttl == .seconds(7200))
        #expect(web.idleTimeout == .seconds(900))
        #expect(web.readOnly)
        #expect(web.tmpfs == ["/tmp", "/run"])
        #expect(web.capAdd == ["NET_BIND_SERVICE"])

        // Unset keys keep the template defaults; a size may be a number of bytes.
        let shell = try #require(containers.templates["shell"])
        #expect(shell.image == "debian:12" && shell.port == 7681)
        #expect(shell.memory == 134_217_728 && shell.memoryMax == 1 << 30)
        #expect(shell.command == nil && shell.env.isEmpty)
        #expect(shell.cpuShares == 512 && shell.cpuSharesMax == 1024)
        #expect(shell.cpus == nil && shell.ttl == nil && shell.idleTimeout == nil)
        #expect(shell.pidsLimit == 256 && !shell.readOnly && shell.tmpfs.isEmpty)
    }

    @Test func enabledIsAutoTrueOrFalse() throws {
        let missing = "/nonexistent/viworks-test/docker.sock"
        let auto = try helper.loader.load(path: nil, environment: ["VIWORKS_CONTAINERS_SOCKET": missing]).containers
        #expect(auto.enabled == .auto && !auto.isEnabled)
        #expect(auto.disabledReason == "no engine socket at \(missing) ([containers] enabled = \"auto\")")
        // auto is on when the socket exists.
        let present = try helper.unixSocket()
        defer { unlink(present) }
        #expect(try helper.loader.load(path: nil, environment: ["VIWORKS_CONTAINERS_SOCKET": present]).containers.isEnabled)
        let off = try helper.loader.load(path: nil, environment: ["VIWORKS_CONTAINERS_ENABLED": "false"]).containers
        #expect(off.enabled == .off && off.disabledReason == "[containers] enabled = false")
        let on = try helper.loader.load(path: nil, environment: ["VIWORKS_CONTAINERS_ENABLED": "yes", "VIWORKS_CONTAINERS_SOCKET": missing]).containers
        #expect(on.enabled == .on && on.isEnabled && on.disabledReason == nil)
        #expect(try helper.loader.load(path: nil, environment: ["VIWORKS_CONTAINERS_ENABLED": "AUTO"]).containers.enabled == .auto)
    }

    @Test func everyKindOfProblemIsReportedOnItsLine() {
        let issues = helper.issues(
            """
            [containers]
            enabled = "sometimes"
            socket = "docker.sock"
            port_range = "20999-20000"
            publish_address = "localhost"
            max_sessions = 0
            keep_exited = "soon"
            pull = "yes"
            orphans = "keep"
            sockets = "/x"
            [containers.templates.web]
            image = "busybox"
            port = 70000
            memory = "lots"
            memory_max = "8MiB"
            cpus = 0
            ttl = "0s"
            tmpfs = ["/tmp", "relative"]
            command = []
            env = ["A=b"]
            volumes = ["/x"]
            [containers.templates.noimage]
            pids_limit = 10
            cpu_shares = 1
            [containers.templates.-x]
            port = 80
            """,
            environment: ["VIWORKS_CONTAINERS_PORT_RANGE": "1-2-3"])
        let found = issues.map { "\($0.line.map(String.init) ?? "-") \($0.key): \($0.message)" }
        let expected = [
            #"2 containers.enabled: expected "auto", true or false, got "sometimes""#,
            #"3 containers.socket: expected an absolute path, got "docker.sock""#,
            #"4 containers.port_range: expected a port range such as "20000-20999" (two ports in 1-65535, the first not above the second), got "20999-20000""#,
            #"5 containers.publish_address: expected an IPv4 address such as 127.0.0.1, got "localhost""#,
            "6 containers.max_sessions: 0 is out of range 1...100000",
            #"7 containers.keep_exited: expected a duration such as "30s", "500ms" or "2m", got "soon""#,
            #"8 containers.pull: expected true or false, got "yes""#,
            #"9 containers.orphans: expected one of adopt, remove, got "keep""#,
            "10 containers.sockets: unknown key",
            "13 containers.templates.web.port: 70000 is out of range 1...65535",
            #"14 containers.templates.web.memory: expected a size such as "256MiB" or "1GiB", got "lots""#,
            // memory kept its default (256MiB) after the bad value.
            "15 containers.templates.web.memory_max: must not be below memory (256MiB), got 8MiB",
            "16 containers.templates.web.cpus: expected a number of CPUs from 0.01 to 1024, got 0",
            "17 containers.templates.web.ttl: must be at least 1.0s",
            #"18 containers.templates.web.tmpfs: "relative" must be an absolute path other than /, without ':' or ','"#,
            "19 containers.templates.web.command: must be a non-empty argv array of non-empty strings",
            #"20 containers.templates.web.env: expected a table of variables such as env = { TZ = "UTC" }, got a list"#,
            "21 containers.templates.web.volumes: unknown key (known: image, command, env, port, memory, memory_max, cpu_shares, cpu_shares_max, cpus, pids_limit, ttl, idle_timeout, read_only, tmpfs, cap_add)",
            #"22 containers.templates.noimage: a template needs an image (a local image reference such as "debian:12")"#,
            "22 containers.templates.noimage: a template needs a port (the TCP port its session listens on inside the container)",
            "24 containers.templates.noimage.cpu_shares: 1 is out of range 2...262144",
            "26 containers.templates.-x.port: a template name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            #"- VIWORKS_CONTAINERS_PORT_RANGE: expected a port range such as "20000-20999" (two ports in 1-65535, the first not above the second), got "1-2-3""#,
        ]
        #expect(found.sorted() == expected.sorted())
    }

    @Test func rulesAcrossKeysAreReportedOnTheKey() {
        let issues = helper.issues(
            """
            [containers]
            port_range = "80-90"
            max_sessions = 2
            max_sessions_per_user = 5
            [containers.templates.web]
            image = "busybox"
            port = 8080
            cpu_shares = 600
            cpu_shares_max = 500
            """)
        let found = issues.map { "\($0.line.map(String.init) ?? "-") \($0.key): \($0.message)" }
        #expect(
            found.sorted() == [
                "2 containers.port_range: must lie within 1024-65535, got 80-90",
                "4 containers.max_sessions_per_user: must be between 1 and max_sessions (2)",
                "9 containers.templates.web.cpu_shares_max: must be between cpu_shares (600) and 262144, got 500",
            ])
    }

    @Test func aContainersChangeNeedsARestart() throws {
        let old = try helper.loader.load(path: nil, environment: [:])
        var new = old
        new.containers.maxSessions = 7
        #expect(ReloadCoordinator.changedKeys(from: old, to: new) == ["containers"])
    }
}
