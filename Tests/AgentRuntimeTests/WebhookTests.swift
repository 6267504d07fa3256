//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import Logging
import Synchronization
import Testing

/// Webhook signing, rate limits and journal fields (delivery to a real receiver: AgentServerTests/WebhookDeliveryTests).
struct WebhookTests {
    let logger = Logger(label: "test")

    static let transition = AlertTransition(
        rule: "disk", subject: "/data", from: .ok, to: .critical, value: 96.5, threshold: 95, at: Timestamp(nanosecondsSinceEpoch: 1_760_000_000_000_000_000),
        incidentID: 7, message: "disk /data critical: 96.5 ≥ 95.0")

    @Test func signatureIsHMACSHA256OfTheBody() {
        // RFC 4231-style check with the well-known "quick brown fox" vector.
        #expect(
            WebhookSender<ContinuousClock>.signature(body: Array("The quick brown fox jumps over the lazy dog".utf8), secret: "key")
                == "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }

    /// Counts posts without a network.
    final class CountingTransport: WebhookTransport {
        let count = Mutex(0)
        func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> Int {
            count.withLock { $0 += 1 }
            return 204
        }
    }

    @Test func rateLimitIsPerDestinationAndRefillsOverTime() async throws {
        var settings = NotificationSettings()
        settings.webhookURLs = ["http://a.invalid/", "http://b.invalid/"]
        settings.webhookRateLimit = 2
        let clock = TestClock()
        let transport = CountingTransport()
        let sender = WebhookSender(settings: settings, clock: clock, logger: logger, transport: transport)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await sender.run() }
            for _ in 0..<5 { sender.enqueue(Self.transition) }
            #expect(sender.statistics["http://a.invalid/"]?.rateLimited == 3)
            clock.advance(by: .seconds(30))  // 2 per minute: one token back
            sender.enqueue(Self.transition)
            sender.enqueue(Self.transition)
            sender.finish()
            try await group.waitForAll()
        }
        #expect(sender.statistics["http://a.invalid/"] == WebhookSender<TestClock>.Statistics(delivered: 3, failed: 0, rateLimited: 4, attempts: 3))
        #expect(sender.statistics["http://b.invalid/"] == WebhookSender<TestClock>.Statistics(delivered: 3, failed: 0, rateLimited: 4, attempts: 3))
        #expect(transport.count.withLock { $0 } == 6)
    }

    @Test func journalFieldsCarryTheirOwnMessageIDs() {
        let fields = AlertNotifier<ContinuousClock>.journalFields(Self.transition)
        #expect(fields.contains("MESSAGE_ID=2ac3b017448d45f183ce5add9d7ec323"))
        #expect(fields.contains("PRIORITY=2"))
        #expect(fields.contains("ALERT_SUBJECT=/data"))
        #expect(fields.contains("INCIDENT_ID=7"))
        var resolved = Self.transition
        resolved.from = .critical
        resolved.to = .ok
        #expect(AlertNotifier<ContinuousClock>.journalFields(resolved).contains("MESSAGE_ID=d16595b4280241feae462b796bb81929"))
        resolved.to = .warning
        #expect(AlertNotifier<ContinuousClock>.journalFields(resolved).contains("MESSAGE_ID=4f222b12427e41208047221038f4ec13"))
    }
}
