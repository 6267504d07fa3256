//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `[history]`, `[alerts]`, `[alerts.<rule>]` and `[notifications]`.
struct HistoryConfigTests {
    let helper = ConfigLoaderTests()

    @Test func defaultsAreTheSpecificationsThresholds() throws {
        let configuration = try helper.loader.load(path: nil, environment: [:])
        #expect(configuration.history.enabled)
        #expect(configuration.history.retention == .seconds(30 * 86_400))
        #expect(configuration.history.minuteRetention == .seconds(90 * 86_400))
        #expect(configuration.history.hourRetention == .seconds(730 * 86_400))
        #expect(configuration.history.flushInterval == .seconds(30))
        #expect(configuration.history.databasePath(stateDirectory: "/var/lib/viworks-agent") == "/var/lib/viworks-agent/history.db")
        #expect(configuration.alerts.cpu.warning == 80 && configuration.alerts.cpu.critical == 95)
        #expect(configuration.alerts.memory.warning == 85 && configuration.alerts.memory.critical == 95)
        #expect(configuration.alerts.load.warning == 2 && configuration.alerts.load.critical == 5)
        #expect(configuration.notifications.webhookURLs.isEmpty && configuration.notifications.journald)
    }

    @Test func fileAndEnvironment() throws {
        let path = helper.file(
            """
            [history]
            retention = "7d"
            path = "/srv/h.db"
            flush_interval = 10
            [alerts]
            for = "30s"
            [alerts.load]
            per_core = true
            warning = 1.5
            critical_clear = 3
            [alerts.disk]
            for = 0
            [notifications]
            webhook_urls = ["https://a.example/x", "http://b.example/y"]
            webhook_secret = "k"
            """)
        defer { unlink(path) }
        let configuration = try helper.loader.load(
            path: path, environment: ["VIWORKS_ALERTS_CPU_WARNING": "70", "VIWORKS_NOTIFICATIONS_WEBHOOK_RATE_LIMIT": "5"])
        #expect(configuration.history.retention == .seconds(7 * 86_400))
        #expect(configuration.history.path == "/srv/h.db")
        #expect(configuration.history.flushInterval == .seconds(10))
        #expect(configuration.alerts.holdFor == .seconds(30))
        #expect(configuration.alerts.loadPerCore)
        #expect(configuration.alerts.load.warning == 1.5)
        #expect(configuration.alerts.load.effectiveCriticalClear == 3)
        #expect(configuration.alerts.disk.holdFor == .zero)
        #expect(configuration.alerts.cpu.warning == 70)
        #expect(configuration.notifications.webhookURLs == ["https://a.example/x", "http://b.example/y"])
        #expect(configuration.notifications.webhookRateLimit == 5)
    }

    @Test func problemsAreLocated() {
        let issues = helper.issues(
            """
            [history]
            retention = "10m"
            minute_retention = "1d"
            [alerts.cpu]
            warning = "high"
            [alerts.gpu]
            warning = 1
            [notifications]
            webhook_urls = ["ftp://x"]
            """)
        let found = Set(issues.map { "\($0.line.map(String.init) ?? "-") \($0.key): \($0.message)" })
        #expect(found.contains("2 history.retention: must be at least 3600.0s"))
        #expect(found.contains("5 alerts.cpu.warning: expected a number, got \"high\""))
        #expect(found.contains("6 alerts.gpu: unknown key"))
        #expect(found.contains("9 notifications.webhook_urls: expected http:// or https:// URLs, got \"ftp://x\""))
    }

    /// Webhook URLs are read as the HTTP client will read them when it posts, so a URL it would refuse at every alert
    /// (`HTTPClientError.invalidURL`, `.emptyHost`) is an error of the configuration instead, on the line of the key.
    @Test func webhookURLsTheClientCannotPostToAreRefused() throws {
        let issues = helper.issues(
            """
            [notifications]
            webhook_urls = [
              "http://hooks example.com/x",
              "https:///alerts",
              "http://",
              "mailto:ops@example.com",
              "http://127.0.0.1:65536/x",
              "https://hooks.example.com:0/x",
            ]
            """)
        let found = issues.map { "\($0.line.map(String.init) ?? "-") \($0.key): \($0.message)" }
        // Each element on its own line.
        let expected = "notifications.webhook_urls: expected http:// or https:// URLs, got"
        #expect(
            found == [
                "3 \(expected) \"http://hooks example.com/x\", which is not a URL",
                "4 \(expected) \"https:///alerts\", which has no host",
                "5 \(expected) \"http://\", which has no host",
                "6 \(expected) \"mailto:ops@example.com\"",
                "7 \(expected) \"http://127.0.0.1:65536/x\", whose port 65536 is not between 1 and 65535",
                "8 \(expected) \"https://hooks.example.com:0/x\", whose port 0 is not between 1 and 65535",
            ])

        // Host names that are not ASCII are mapped to their IDNA form by the client (ICU's UTS #46): accepted.
        let path = helper.file(
            """
            [notifications]
            webhook_urls = ["https://bücher.example/hook", "http://ｌｏｃａｌｈｏｓｔ:8080/x", "HTTPS://[::1]:9/y"]
            """)
        defer { unlink(path) }
        let configuration = try helper.loader.load(path: path, environment: [:])
        #expect(configuration.notifications.webhookURLs.count == 3)
    }
}
