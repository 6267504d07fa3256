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

    /// Binds a new Unix socket under /tmp and returns its path (remove it with `unlink`).
    func unixSocket() throws -> String {
        let path = file("")
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
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
            "2 services.systemd", "5 services.nginx.probe", "6 services.nginx.colour", "8 services.empty", "12 services.../etc.enabled",
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

    @Test func badEnvironmentValuesAreReportedByName() {
        let found = issues("", environment: ["VIWORKS_AGENT_INTERVAL": "soon", "VIWORKS_NOPE": "1"])
        #expect(found.map(\.key).sorted() == ["VIWORKS_AGENT_INTERVAL"])
        #expect(found.allSatisfy { $0.source == "environment" })
    }

    @Test func unknownEnvironmentVariablesAreWarningsNamingTheClosestKnownOne() throws {
        let loaded = try loader.loadWithWarnings(
            path: nil, environment: ["VIWORKS_AGENT_BIN": "/usr/bin/viworks-agent", "VIWORKS_LOG_LEVLE": "debug", "VIWORKS_LOG_LEVEL": "debug"])
        #expect(loaded.configuration.log.level == "debug")
        #expect(loaded.warnings.map(\.key) == ["VIWORKS_AGENT_BIN", "VIWORKS_LOG_LEVLE"])
        #expect(loaded.warnings.allSatisfy { $0.source == "environment" && $0.line == nil })
        #expect(loaded.warnings[1].message == "not a configuration variable, ignored (the closest is VIWORKS_LOG_LEVEL)")
        #expect(loaded.warnings[0].message.hasPrefix("not a configuration variable, ignored (the closest is VIWORKS_"))
    }

    @Test func commandLineValuesAreBlamedOnTheFlagNotOnTheEnvironment() {
        do {
            _ = try loader.loadWithWarnings(
                path: nil, environment: [:],
                overrides: [.init(flag: "--log-level", key: "log.level", value: "loud"), .init(flag: "--listen", key: "server.listen", value: "bad")])
            Issue.record("bad flags were accepted")
        } catch {
            #expect(error.issues.map(\.description) == [
                "command line: --listen: expected host:port such as \"127.0.0.1:9740\" or \"[::1]:9740\", got \"bad\"",
                "command line: --log-level: expected one of trace, debug, info, notice, warning, error, critical, got \"loud\"",
            ])
        }
    }

    @Test func thresholdsBodyLimitAndPluginsDirectoryAreChecked() {
        let found = issues(
            """
            [alerts.cpu]
            warning = -5
            critical = 101
            [alerts.memory]
            warning_clear = 100.5
            [alerts.load]
            warning = -1
            [alerts.disk]
            warning = 95
            critical = 90
            [limits]
            max_body_bytes = 0
            [plugins]
            directory = "/etc/hostname"
            """)
        #expect(
            found.map { "\($0.line ?? 0) \($0.key)" }
                == [
                    "2 alerts.cpu.warning", "3 alerts.cpu.critical", "5 alerts.memory.warning_clear", "7 alerts.load.warning", "10 alerts.disk.critical",
                    "12 limits.max_body_bytes", "14 plugins.directory",
                ], "\(found)")
        #expect(found[0].message == "a percentage must be between 0 and 100, got -5")
        #expect(found[3].message == "must be 0 or more, got -1")
        #expect(found[4].message == "must not be below alerts.disk.warning")
        #expect(found[5].message == "0 is out of range 1...1073741824")
        #expect(found[6].message == "/etc/hostname is not a directory")
    }

    @Test func everyBadElementOfAListIsReportedOnItsOwnLine() {
        let found = issues(
            """
            [access]
            allow = [
              "10.0.0.0/8",
              "10.0.0.0/33",  # a comment, with "quotes" and a ]
              "192.0.2.1",
              "not-an-address",
            ]
            [notifications]
            webhook_urls = ["ftp://a", "https://ok", "gopher://b"]
            [services.web]
            units = ["nginx.service", "bad unit", 7]
            process_names = ["web"]
            """)
        #expect(
            found.map { "\($0.line ?? 0) \($0.key): \($0.message)" }
                == [
                    "4 access.allow: \"10.0.0.0/33\" is not a CIDR block such as 10.0.0.0/8, 192.0.2.7, 2001:db8::/32 or ::1",
                    "6 access.allow: \"not-an-address\" is not a CIDR block such as 10.0.0.0/8, 192.0.2.7, 2001:db8::/32 or ::1",
                    "9 notifications.webhook_urls: expected http:// or https:// URLs, got \"ftp://a\"",
                    "9 notifications.webhook_urls: expected http:// or https:// URLs, got \"gopher://b\"",
                    "11 services.web.units: element 3: expected a string, got 7",
                ], "\(found)")
    }

    @Test func crossKeyErrorsCarryTheLineOfOneOfTheKeys() {
        let found = issues(
            """
            [supervisor]
            backoff_initial = "10s"
            backoff_max = "1s"
            [history]
            retention = "30d"
            minute_retention = "7d"
            [commands.restart-web]
            arguments = ["{unit}"]
            """)
        #expect(
            found.map { "\($0.line ?? 0) \($0.key)" }
                == ["3 supervisor.backoff_max", "6 history.minute_retention", "7 commands.restart-web", "8 commands.restart-web.arguments"], "\(found)")
    }

    @Test func anUnreadableFileIsNamedWithThePlainReason() {
        do {
            _ = try loader.load(path: "/nonexistent/agent.toml", environment: [:])
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.issues.map(\.description) == ["/nonexistent/agent.toml: cannot read /nonexistent/agent.toml: No such file or directory"])
        }
    }

    @Test func durations() {
        #expect(Duration(parsing: "1m30s") == .seconds(90))
        #expect(Duration(parsing: "250ms") == .milliseconds(250))
        #expect(Duration(parsing: "2h") == .seconds(7200))
        #expect(Duration(parsing: "1.5") == .milliseconds(1500))
        #expect(Duration(parsing: "") == nil)
        #expect(Duration(parsing: "5 parsecs") == nil)
        #expect(Duration(parsing: "-1s") == nil)
    }

    @Test func missingFileIsAnError() {
        #expect(throws: ConfigError.self) { try loader.load(path: "/nonexistent/agent.toml", environment: [:]) }
    }
}
