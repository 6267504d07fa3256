//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentRuntime
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Testing

/// Webhook delivery through async-http-client to a real HTTP server on loopback.
struct WebhookTests {
    let logger = Logger(label: "test")

    static let transition = AlertTransition(
        rule: "disk", subject: "/data", from: .ok, to: .critical, value: 96.5, threshold: 95, at: Timestamp(nanosecondsSinceEpoch: 1_760_000_000_000_000_000),
        incidentID: 7, message: "disk /data critical: 96.5 ≥ 95.0")

    /// What the receiver saw.
    final class Received: Sendable {
        struct Request: Sendable {
            var body: [UInt8]
            var signature: String?
            var delivery: String?
            var contentType: String?
        }
        let requests = Mutex<[Request]>([])
        /// Statuses to answer, in order; 200 after the list ends.
        let statuses: Mutex<[Int]>
        init(statuses: [Int]) { self.statuses = Mutex(statuses) }
    }

    /// Runs a receiver on 127.0.0.1 with an ephemeral port while `body` runs.
    static func withReceiver(statuses: [Int], _ body: @Sendable @escaping (_ url: String, _ received: Received) async throws -> Void) async throws {
        let received = Received(statuses: statuses)
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            received.requests.withLock {
                $0.append(
                    Received.Request(
                        body: Array(buffer.readableBytesView), signature: request.headers[HTTPField.Name("X-ViWorks-Signature")!],
                        delivery: request.headers[HTTPField.Name("X-ViWorks-Delivery")!], contentType: request.headers[.contentType]))
            }
            let status = received.statuses.withLock { $0.isEmpty ? 200 : $0.removeFirst() }
            return Response(status: HTTPResponse.Status(code: status))
        }
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: Logger(label: "receiver"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var bound: Int?
            for _ in 0..<500 {
                bound = port.withLock { $0 }
                if bound != nil { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            let url = "http://127.0.0.1:\(try #require(bound))/hook"
            try await body(url, received)
            group.cancelAll()
        }
    }

    @Test func signatureIsHMACSHA256OfTheBody() {
        // RFC 4231-style check with the well-known "quick brown fox" vector.
        #expect(
            WebhookSender<ContinuousClock>.signature(body: Array("The quick brown fox jumps over the lazy dog".utf8), secret: "key")
                == "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }

    @Test func deliveryIsRetriedAfterAFailureAndSigned() async throws {
        try await Self.withReceiver(statuses: [500, 503]) { url, received in
            var settings = NotificationSettings()
            settings.webhookURLs = [url]
            settings.webhookSecret = "s3cret"
            settings.webhookBackoff = .milliseconds(20)
            settings.webhookMaxAttempts = 4
            let sender = WebhookSender(settings: settings, clock: ContinuousClock(), logger: logger, transport: AsyncHTTPClientTransport())
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await sender.run() }
                sender.enqueue(Self.transition)
                sender.finish()
                try await group.waitForAll()
            }
            let requests = received.requests.withLock { $0 }
            #expect(requests.count == 3)
            #expect(sender.statistics[url] == WebhookSender<ContinuousClock>.Statistics(delivered: 1, failed: 0, rateLimited: 0, attempts: 3))
            let expectedBody = WebhookSender<ContinuousClock>.body(Self.transition, host: WebhookSender<ContinuousClock>.hostname())
            for request in requests {
                #expect(request.body == expectedBody)
                #expect(request.contentType == "application/json")
                #expect(request.signature == WebhookSender<ContinuousClock>.signature(body: expectedBody, secret: "s3cret"))
                // The same delivery id on every attempt, so receivers can de-duplicate.
                #expect(request.delivery == requests[0].delivery)
            }
            let text = String(decoding: expectedBody, as: UTF8.self)
            #expect(text.contains("\"rule\":\"disk\",\"subject\":\"/data\",\"from\":\"ok\",\"to\":\"critical\",\"value\":96.5,\"threshold\":95.0"))
            #expect(text.contains("\"incident_id\":7"))
        }
    }

    @Test func aClientErrorIsNotRetriedAndAnUnreachableURLGivesUp() async throws {
        try await Self.withReceiver(statuses: [400]) { url, received in
            var settings = NotificationSettings()
            settings.webhookURLs = [url, "http://127.0.0.1:1/unreachable"]
            settings.webhookBackoff = .milliseconds(5)
            settings.webhookMaxAttempts = 3
            // async-http-client keeps retrying a refused connection until the request's deadline.
            settings.webhookTimeout = .milliseconds(300)
            let sender = WebhookSender(settings: settings, clock: ContinuousClock(), logger: logger, transport: AsyncHTTPClientTransport())
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await sender.run() }
                sender.enqueue(Self.transition)
                sender.finish()
                try await group.waitForAll()
            }
            #expect(received.requests.withLock { $0.count } == 1)
            #expect(sender.statistics[url]?.failed == 1)
            #expect(sender.statistics[url]?.attempts == 1)
            #expect(sender.statistics["http://127.0.0.1:1/unreachable"] == WebhookSender<ContinuousClock>.Statistics(delivered: 0, failed: 1, rateLimited: 0, attempts: 3))
        }
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
