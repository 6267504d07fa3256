//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The configuration as a whole: collector options declared beside their collectors, every section's errors at once,
/// and `VIWORKS_*` overrides of every kind of section.
struct CollectorOptionsConfigTests {
    let loader = ConfigLoader(collectors: [
        CollectorConfigSchema(id: "cpu"), CollectorConfigSchema(id: "memory"), CollectorConfigSchema(id: "disk", options: DiskSettings.self),
        CollectorConfigSchema(id: "network", options: NetworkSettings.self), CollectorConfigSchema(id: "processes", options: ProcessesSettings.self),
    ])

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
        #expect(configuration.options(DiskSettings.self, for: "disk").excludeFSTypes == ["tmpfs"])
        #expect(configuration.options(DiskSettings.self, for: "disk").statfsTimeout == .milliseconds(750))
        #expect(configuration.settings(for: "network").enabled == false)
        #expect(configuration.settings(for: "memory") == CollectorSettings())
    }

    @Test func environmentOverridesTheFile() throws {
        let path = file("[server]\nlisten = \"127.0.0.1:1\"\n")
        defer { unlink(path) }
        let configuration = try loader.load(
            path: path,
            environment: [
                "VIWORKS_SERVER_LISTEN": "0.0.0.0:8080", "VIWORKS_COLLECTORS_CPU_INTERVAL": "1s", "VIWORKS_COLLECTORS_DISK_EXCLUDE_FS_TYPES": "tmpfs, nfs",
                "VIWORKS_COLLECTORS_NETWORK_ENABLED": "false", "PATH": "/usr/bin",
                // Off loopback: plain HTTP only when said so, and a credential.
                "VIWORKS_SERVER_ALLOW_INSECURE": "true", "VIWORKS_AUTH_API_KEYS": "backend:viewer:hmac-sha256:\(String(repeating: "ab", count: 16)):\(String(repeating: "cd", count: 32))",
            ])
        #expect(configuration.server.host == "0.0.0.0")
        #expect(configuration.server.port == 8080)
        #expect(configuration.settings(for: "cpu").interval == .seconds(1))
        #expect(configuration.options(DiskSettings.self, for: "disk").excludeFSTypes == ["tmpfs", "nfs"])
        #expect(configuration.settings(for: "network").enabled == false)
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
        #expect(Duration(checkedSeconds: 9.3e9) == nil)
        #expect(Duration(checkedSeconds: -1) == nil)
        #expect(Duration(checkedSeconds: .nan) == nil)
        #expect(Duration(checkedSeconds: 999_999_999) == .seconds(999_999_999))
        #expect(Duration(parsing: "1e10") == nil)
    }


    @Test func theCatalogDeclaresTheOptionsOfItsCollectors() throws {
        let loader = ConfigLoader(collectors: CollectorCatalog.configSchemas)
        #expect(loader.knownCollectors.contains("disk") && loader.knownCollectors.contains("pressure"))
        let configuration = try loader.load(path: nil, environment: ["VIWORKS_COLLECTORS_NETWORK_EXCLUDE_INTERFACES": "lo, veth*"])
        #expect(configuration.options(NetworkSettings.self, for: "network").excludeInterfaces == ["lo", "veth*"])
        #expect(configuration.options(DiskSettings.self, for: "disk") == DiskSettings(), "options not set keep their defaults")
    }

    /// One file with an unknown key, a value of the wrong type and one out of range in every section: one error lists
    /// them all, each with its line (counted by hand) and key, plus the cross-key checks that still apply.
    @Test func everySectionsErrorsAreReportedAtOnce() {
        let found = issues(
            """
            [agent]
            colour = 1
            interval = true
            state_directory = "var"
            [paths]
            procfs = "/proc"
            proc = 5
            [server]
            port = 1
            event_loop_threads = "many"
            listen = "127.0.0.1:99999"
            [log]
            colour = "red"
            level = 3
            format = "xml"
            [supervisor]
            backoff = "1s"
            max_restarts = 1001
            stable_after = "10ms"
            [collectors.cpu]
            colour = "red"
            enabled = "yes"
            interval = "2d"
            [collectors.disk]
            exclude_fs = ["tmpfs"]
            exclude_fs_types = "tmpfs"
            statfs_timeout = "1ms"
            [plugins]
            dir = "/x"
            enabled = 1
            max_series_per_plugin = 0
            [services]
            probe = "none"
            discover = "no"
            bus_timeout = "2m"
            [services.web]
            unit = "web.service"
            units = "web.service"
            recovery_attempts = 0
            process_names = ["web"]
            [commands]
            max = 1
            enabled = "on"
            max_running = 0
            [commands.backup]
            exec = "/bin/true"
            executable = "/usr/bin/backup"
            summary = 5
            max_output_bytes = 0
            arguments = ["{target}"]
            [commands.backup.parameters]
            target = "float"
            [logs]
            unit = ["x"]
            units = "x"
            journal_directory = "journal"
            [history]
            keep = "1d"
            max_points = "lots"
            max_series = 99
            [alerts]
            mute = true
            enabled = "yes"
            for = "2d"
            [alerts.cpu]
            warn = 70
            warning = "high"
            critical = 120
            [alerts.load]
            per_cpu = true
            per_core = 1
            warning = -1
            [alerts.services]
            critical = true
            enabled = 2
            for = "25h"
            [notifications]
            webhook = "x"
            webhook_secret = 5
            webhook_max_attempts = 21
            [tls]
            cert = "/x"
            cert_file = 5
            reload_check_interval = "1ms"
            [auth]
            role = "admin"
            api_key_file = 5
            anonymous_role = "root"
            [auth.jwt]
            secret = "x"
            issuer = 5
            leeway = "11m"
            [access]
            deny = []
            allow = "10.0.0.0/8"
            trusted_proxies = ["10.0.0.0/33"]
            [rate_limit]
            burst = 5
            viewer_per_minute = "x"
            max_clients = 15
            [limits]
            max_body = 1
            request_timeout = []
            max_url_bytes = 100
            [[auth.api_keys]]
            name = "backend"
            role = "root"
            colour = "red"
            hash = 5
            """)
        let duration = "expected a duration such as \"30s\", \"500ms\" or \"2m\""
        let expected = [
            "2 agent.colour: unknown key",
            "3 agent.interval: \(duration), got true",
            "4 agent.state_directory: expected an absolute path, got \"var\"",
            "6 paths.procfs: unknown key",
            "7 paths.proc: expected a string, got 5",
            "9 server.port: unknown key",
            "10 server.event_loop_threads: expected an integer, got \"many\"",
            "11 server.listen: expected host:port with a port in 0...65535, got \"127.0.0.1:99999\"",
            "13 log.colour: unknown key",
            "14 log.level: expected a string, got 3",
            "15 log.format: expected one of auto, journald, logfmt, json, got \"xml\"",
            "17 supervisor.backoff: unknown key",
            "18 supervisor.max_restarts: 1001 is out of range 0...1000",
            "19 supervisor.stable_after: must be at least 1.0s",
            "21 collectors.cpu.colour: unknown key",
            "22 collectors.cpu.enabled: expected true or false, got \"yes\"",
            "23 collectors.cpu.interval: must be at most 24h",
            "25 collectors.disk.exclude_fs: unknown key",
            "26 collectors.disk.exclude_fs_types: expected a list of strings, got \"tmpfs\"",
            "27 collectors.disk.statfs_timeout: must be at least 10ms",
            "29 plugins.dir: unknown key",
            "30 plugins.enabled: expected true or false, got 1",
            "31 plugins.max_series_per_plugin: 0 is out of range 1...100000",
            "33 services.probe: unknown key",
            "34 services.discover: expected true or false, got \"no\"",
            "35 services.bus_timeout: must be at most 60s",
            "37 services.web.unit: unknown key (known: command_patterns, critical, enabled, probe, process_names, recovery, recovery_attempts, recovery_backoff, recovery_window, units)",
            "38 services.web.units: expected a list of strings, got \"web.service\"",
            "39 services.web.recovery_attempts: 0 is out of range 1...100",
            "42 commands.max: unknown key",
            "43 commands.enabled: expected true or false, got \"on\"",
            "44 commands.max_running: 0 is out of range 1...256",
            "46 commands.backup.exec: unknown key (known: executable, arguments, parameters, optional, summary, timeout, max_output_bytes, user, group)",
            "48 commands.backup.summary: expected a string, got 5",
            "49 commands.backup.max_output_bytes: 0 is out of range 1...16777216",
            "50 commands.backup.arguments: {target} has no [commands.backup.parameters] entry",
            "52 commands.backup.parameters.target: expected \"enum:a|b\", \"integer:1..100\", \"service\" or \"text:64\"",
            "54 logs.unit: unknown key",
            "55 logs.units: expected a list of strings, got \"x\"",
            "56 logs.journal_directory: expected an absolute path, got \"journal\"",
            "58 history.keep: unknown key",
            "59 history.max_points: expected an integer, got \"lots\"",
            "60 history.max_series: 99 is out of range 100...10000000",
            "62 alerts.mute: unknown key",
            "63 alerts.enabled: expected true or false, got \"yes\"",
            "64 alerts.for: must be at most 24h",
            "66 alerts.cpu.warn: unknown key",
            "67 alerts.cpu.warning: expected a number, got \"high\"",
            "68 alerts.cpu.critical: a percentage must be between 0 and 100, got 120",
            "70 alerts.load.per_cpu: unknown key",
            "71 alerts.load.per_core: expected true or false, got 1",
            "72 alerts.load.warning: must be 0 or more, got -1",
            "74 alerts.services.critical: unknown key",
            "75 alerts.services.enabled: expected true or false, got 2",
            "76 alerts.services.for: must be at most 24h",
            "78 notifications.webhook: unknown key",
            "79 notifications.webhook_secret: expected a string, got 5",
            "80 notifications.webhook_max_attempts: 21 is out of range 1...20",
            "82 tls.cert: unknown key",
            "83 tls.cert_file: expected a string, got 5",
            "84 tls.reload_check_interval: must be at least 100ms",
            "86 auth.role: unknown key",
            "87 auth.api_key_file: expected a string, got 5",
            "88 auth.anonymous_role: expected one of auto, none, viewer, operator, admin, got \"root\"",
            "89 auth.jwt: [auth.jwt] needs hs256_secret_file or public_key_files: without a key no token can be verified and the table is ignored",
            "90 auth.jwt.secret: unknown key",
            "91 auth.jwt.issuer: expected a string, got 5",
            "92 auth.jwt.leeway: must be at most 10m",
            "94 access.deny: unknown key",
            "95 access.allow: expected a list of strings, got \"10.0.0.0/8\"",
            "96 access.trusted_proxies: \"10.0.0.0/33\" is not a CIDR block such as 10.0.0.0/8, 192.0.2.7, 2001:db8::/32 or ::1",
            "98 rate_limit.burst: unknown key",
            "99 rate_limit.viewer_per_minute: expected an integer, got \"x\"",
            "100 rate_limit.max_clients: 15 is out of range 16...10000000",
            "102 limits.max_body: unknown key",
            "103 limits.request_timeout: \(duration), got a list",
            "104 limits.max_url_bytes: 100 is out of range 256...65536",
            "105 auth.api_keys.1: an API key needs a hash",
            "107 auth.api_keys.1.role: expected one of viewer, operator, admin, got \"root\"",
            "108 auth.api_keys.1.colour: unknown key (an API key has name, role and hash)",
            "109 auth.api_keys.1.hash: expected a string, got 5",
        ]
        let lines = found.map { "\($0.line.map(String.init) ?? "-") \($0.key): \($0.message)" }
        #expect(lines.count == expected.count, "\(lines)")
        for (line, want) in zip(lines, expected) { #expect(line == want) }
        #expect(Set(found.map(\.source)) == ["F"])
    }

    /// A key of each kind of section set from the environment: a fixed table, a rule table, a collector's option, a
    /// service; a bad value is blamed on the variable.
    @Test func environmentOverridesEveryKindOfSection() throws {
        let configuration = try loader.load(
            path: nil,
            environment: [
                "VIWORKS_HISTORY_MAX_POINTS": "500", "VIWORKS_ALERTS_MEMORY_WARNING": "70", "VIWORKS_ALERTS_LOAD_PER_CORE": "yes",
                "VIWORKS_COLLECTORS_PROCESSES_TOP": "5", "VIWORKS_SERVICES_NGINX_PROBE": "tcp://127.0.0.1:8080", "VIWORKS_SERVICES_SSHD_CRITICAL": "false",
                "VIWORKS_RATE_LIMIT_ADMIN_PER_MINUTE": "7",
            ])
        #expect(configuration.history.maxPoints == 500)
        #expect(configuration.alerts.memory.warning == 70)
        #expect(configuration.alerts.loadPerCore == true)
        #expect(configuration.options(ProcessesSettings.self, for: "processes").top == 5)
        let services = Dictionary(uniqueKeysWithValues: configuration.services.definitions.map { ($0.name, $0) })
        #expect(services["nginx"]?.probe == ServiceProbeSpec(kind: .tcp, host: "127.0.0.1", port: 8080))
        #expect(services["sshd"]?.critical == false)
        #expect(configuration.security.rateLimit.perRole[.admin] == 7)

        let found = issues("", environment: ["VIWORKS_ALERTS_DISK_CRITICAL": "101", "VIWORKS_COLLECTORS_PROCESSES_TOP": "0"])
        #expect(found.map(\.description) == [
            "environment: VIWORKS_ALERTS_DISK_CRITICAL: a percentage must be between 0 and 100, got \"101\"",
            "environment: VIWORKS_COLLECTORS_PROCESSES_TOP: 0 is out of range 1...100",
        ])
    }
}
