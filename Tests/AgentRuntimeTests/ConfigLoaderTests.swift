//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct ConfigLoaderTests {
    let loader = ConfigLoader(knownCollectors: ["cpu", "memory", "disk", "network"])

    /// Writes `text` to a new temporary file and returns its path.
    func file(_ text: String) -> String {
        var template = Array("/tmp/viworks-config-XXXXXX.toml".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemps($0, 5) } ?? -1 }
        let path = String(cString: template)
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        return path
    }

    func issues(_ text: String, environment: [String: String] = [:]) -> [ConfigIssue] {
        let path = file(text)
        defer { unlink(path) }
        do {
            _ = try loader.load(path: path, environment: environment)
            return []
        } catch {
            return error.issues.map { ConfigIssue(source: $0.source == path ? "F" : $0.source, line: $0.line, key: $0.key, message: $0.message) }
        }
    }

    @Test func servicesAreChangedAddedAndDisabled() throws {
        let path = file(
            """
            [services]
            systemd = "off"
            probe_timeout = "500ms"

            [services.nginx]
            probe = "http://127.0.0.1:8080/health"

            [services.openvpn]
            enabled = false

            [services.my-app]
            units = ["my-app@*.service"]
            command_patterns = ["/opt/my-app/bin"]
            probe = "tcp://[::1]:7000"
            critical = true
            """)
        defer { unlink(path) }
        let configuration = try loader.load(path: path, environment: ["VIWORKS_SERVICES_REDIS_PROBE": "none"])
        let services = configuration.services
        #expect(services.systemd == .off)
        #expect(services.probeTimeout == .milliseconds(500))
        let byName = Dictionary(uniqueKeysWithValues: services.definitions.map { ($0.name, $0) })
        #expect(byName["nginx"]?.probe == ServiceProbeSpec(kind: .http, host: "127.0.0.1", port: 8080, path: "/health"))
        #expect(byName["nginx"]?.units == ["nginx.service"], "keys not set keep the built-in values")
        #expect(byName["redis"]?.probe == nil)
        #expect(byName["openvpn"]?.enabled == false)
        #expect(services.enabledDefinitions.map(\.name) == ["docker", "sshd", "nginx", "postgres", "redis", "viworks-gateway-agent", "my-app"])
        #expect(byName["my-app"] == ServiceDefinition(
            name: "my-app", units: ["my-app@*.service"], commandPatterns: ["/opt/my-app/bin"], probe: ServiceProbeSpec(kind: .tcp, host: "::1", port: 7000),
            critical: true))
    }

    @Test func badServiceTablesNameTheLineAndKey() {
        let found = issues(
            """
            [services]
            systemd = "maybe"

            [services.nginx]
            probe = "ftp://127.0.0.1:21"
            colour = "blue"

            [services.empty]
            critical = true

            [services."../etc"]
            enabled = true
            """)
        #expect(found.map { "\($0.line.map(String.init) ?? "-") \($0.key)" } == [
            "2 services.systemd", "5 services.nginx.probe", "6 services.nginx.colour", "12 services.../etc.enabled", "- services.empty",
        ])
        #expect(found.first { $0.key == "services.nginx.probe" }?.message.hasPrefix("unknown probe kind 'ftp'") == true)
        #expect(found.first { $0.key == "services.empty" }?.message == "a service needs units, process_names or command_patterns to be found")
    }

    @Test func defaultsWithoutAFile() throws {
        let configuration = try loader.load(path: nil, environment: [:])
        #expect(configuration.interval == .seconds(30))
        #expect(configuration.server.host == "127.0.0.1")
        #expect(configuration.server.port == 9740)
        #expect(configuration.paths == HostPaths())
    }

    @Test func aValidFileIsApplied() throws {
        let path = file(
            """
            # comment
            [agent]
            interval = "10s"

            [server]
            listen = "[::1]:9999"

            [collectors.cpu]
            interval = "1s"
            timeout = 0.5

            [collectors.disk]
            exclude_fs_types = ["tmpfs"]
            statfs_timeout = "750ms"

            [collectors.network]
            enabled = false
            """)
        defer { unlink(path) }
        let configuration = try loader.load(path: path, environment: [:])
        #expect(configuration.interval == .seconds(10))
        #expect(configuration.server.host == "::1")
        #expect(configuration.server.port == 9999)
        #expect(configuration.settings(for: "cpu").interval == .seconds(1))
        #expect(configuration.settings(for: "cpu").timeout == .milliseconds(500))
        #expect(configuration.disk.excludeFSTypes == ["tmpfs"])
        #expect(configuration.disk.statfsTimeout == .milliseconds(750))
        #expect(configuration.settings(for: "network").enabled == false)
        #expect(configuration.settings(for: "memory") == CollectorSettings())
    }

    @Test func errorsNameFileLineAndKeyAndAreAllReported() {
        let found = issues(
            """
            [agent]
            interval = "30s"

            [server]
            listen = "127.0.0.1:9740"
            lisen = "oops"

            [collectors.cpu]
            interval = "fast"

            [collectors.gpu]
            enabled = true

            [log]
            level = "verbose"
            """)
        let expected = [
            ConfigIssue(source: "F", line: 6, key: "server.lisen", message: "unknown key"),
            ConfigIssue(source: "F", line: 9, key: "collectors.cpu.interval", message: "expected a duration such as \"30s\", \"500ms\" or \"2m\", got \"fast\""),
            ConfigIssue(source: "F", line: 11, key: "collectors.gpu", message: "unknown collector 'gpu' (known: cpu, memory, disk, network)"),
            ConfigIssue(source: "F", line: 15, key: "log.level", message: "expected one of trace, debug, info, notice, warning, error, critical, got \"verbose\""),
        ]
        #expect(found.sorted { ($0.line ?? 0) < ($1.line ?? 0) } == expected)
        #expect(found.count == 4)
        #expect(found.map(\.line).sorted { ($0 ?? 0) < ($1 ?? 0) } == [6, 9, 11, 15])
    }

    @Test func syntaxErrorsCarryTheParserLine() {
        let found = issues(
            """
            [agent]
            interval = "30s"
            state_directory = "/var/lib/x
            """)
        #expect(found.count == 1)
        #expect(found.first?.line == 3)
        #expect(found.first?.message.hasPrefix("TOML syntax") == true)
    }

    @Test func valuesOutOfRangeOrOfTheWrongType() {
        let found = issues(
            """
            [agent]
            interval = "10ms"
            [server]
            event_loop_threads = 0
            listen = "localhost"
            [supervisor]
            max_restarts = "five"
            """)
        #expect(found.map(\.key).sorted() == ["agent.interval", "server.event_loop_threads", "server.listen", "supervisor.max_restarts"])
        #expect(found.first { $0.key == "agent.interval" }?.message == "must be at least 100ms")
        #expect(found.first { $0.key == "server.event_loop_threads" }?.line == 4)
    }

    @Test func environmentOverridesTheFile() throws {
        let path = file("[server]\nlisten = \"127.0.0.1:1\"\n")
        defer { unlink(path) }
        let configuration = try loader.load(
            path: path,
            environment: [
                "VIWORKS_SERVER_LISTEN": "0.0.0.0:8080", "VIWORKS_COLLECTORS_CPU_INTERVAL": "1s", "VIWORKS_COLLECTORS_DISK_EXCLUDE_FS_TYPES": "tmpfs, nfs",
                "VIWORKS_COLLECTORS_NETWORK_ENABLED": "false", "PATH": "/usr/bin",
            ])
        #expect(configuration.server.host == "0.0.0.0")
        #expect(configuration.server.port == 8080)
        #expect(configuration.settings(for: "cpu").interval == .seconds(1))
        #expect(configuration.disk.excludeFSTypes == ["tmpfs", "nfs"])
        #expect(configuration.settings(for: "network").enabled == false)
    }

    @Test func badEnvironmentValuesAreReportedByName() {
        let found = issues("", environment: ["VIWORKS_AGENT_INTERVAL": "soon", "VIWORKS_NOPE": "1"])
        #expect(found.map(\.key).sorted() == ["VIWORKS_AGENT_INTERVAL", "VIWORKS_NOPE"])
        #expect(found.allSatisfy { $0.source == "environment" })
    }

    @Test func durations() {
        #expect(ConfigLoader.parseDuration("1m30s") == .seconds(90))
        #expect(ConfigLoader.parseDuration("250ms") == .milliseconds(250))
        #expect(ConfigLoader.parseDuration("2h") == .seconds(7200))
        #expect(ConfigLoader.parseDuration("1.5") == .milliseconds(1500))
        #expect(ConfigLoader.parseDuration("") == nil)
        #expect(ConfigLoader.parseDuration("5 parsecs") == nil)
        #expect(ConfigLoader.parseDuration("-1s") == nil)
    }

    /// Values that once trapped converting seconds to Int64 nanoseconds (found by a hostile test): now plain errors.
    @Test func hugeNegativeAndNonFiniteDurationsAreErrorsNotCrashes() {
        let found = issues(
            """
            [agent]
            interval = 1e10
            [supervisor]
            backoff_max = -1e300
            backoff_initial = "1e10"
            stable_after = 99999999999999
            [collectors.disk]
            statfs_timeout = "1e400"
            """, environment: ["VIWORKS_COLLECTORS_CPU_TIMEOUT": "1e300"])
        #expect(
            found.map(\.key).sorted() == [
                "VIWORKS_COLLECTORS_CPU_TIMEOUT", "agent.interval", "collectors.disk.statfs_timeout", "supervisor.backoff_initial",
                "supervisor.backoff_max", "supervisor.stable_after",
            ])
        #expect(ConfigLoader.duration(seconds: 9.3e9) == nil)
        #expect(ConfigLoader.duration(seconds: -1) == nil)
        #expect(ConfigLoader.duration(seconds: .nan) == nil)
        #expect(ConfigLoader.duration(seconds: 999_999_999) == .seconds(999_999_999))
        #expect(ConfigLoader.parseDuration("1e10") == nil)
    }

    @Test func missingFileIsAnError() {
        #expect(throws: ConfigError.self) { try loader.load(path: "/nonexistent/agent.toml", environment: [:]) }
    }
}
