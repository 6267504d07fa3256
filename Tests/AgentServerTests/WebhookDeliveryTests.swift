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

/// Webhook delivery through async-http-client to a real HTTP server (Hummingbird) on loopback.
struct WebhookDeliveryTests {
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
    static func withReceiver(statuses: [Int], delay: Duration = .zero, _ body: @Sendable @escaping (_ url: String, _ received: Received) async throws -> Void) async throws {
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
            if delay > .zero { try? await Task.sleep(for: delay) }
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

    /// Queues `notifications` copies of ``transition`` on a sender over async-http-client, runs `meanwhile`, ends the
    /// queues and returns the sender once it has delivered (or given up on) everything.
    func deliver(
        _ settings: NotificationSettings, notifications: Int = 1,
        meanwhile: (WebhookSender<ContinuousClock>) async throws -> Void = { _ in }
    ) async throws -> WebhookSender<ContinuousClock> {
        let transport = AsyncHTTPClientTransport()
        let sender = WebhookSender(settings: settings, clock: ContinuousClock(), logger: logger, transport: transport)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await sender.run() }
            for _ in 0..<notifications { sender.enqueue(Self.transition) }
            try await meanwhile(sender)
            sender.finish()
            try await group.waitForAll()
        }
        try await transport.shutdown()
        return sender
    }

    @Test func deliveryIsRetriedAfterAFailureAndSigned() async throws {
        try await Self.withReceiver(statuses: [500, 503]) { url, received in
            var settings = NotificationSettings()
            settings.webhookURLs = [url]
            settings.webhookSecret = "s3cret"
            settings.webhookBackoff = .milliseconds(20)
            settings.webhookMaxAttempts = 4
            let sender = try await deliver(settings)
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

    @Test func aReceiverSlowerThanTheTimeoutGetsBoundedRetriesWithOneDeliveryID() async throws {
        // The receiver answers after 2 s; the timeout is 200 ms: each attempt times out, three attempts, then given up.
        try await Self.withReceiver(statuses: [], delay: .seconds(2)) { url, received in
            var settings = NotificationSettings()
            settings.webhookURLs = [url]
            settings.webhookBackoff = .milliseconds(5)
            settings.webhookMaxAttempts = 3
            settings.webhookTimeout = .milliseconds(200)
            let sender = try await deliver(settings)
            #expect(sender.statistics[url] == WebhookSender<ContinuousClock>.Statistics(delivered: 0, failed: 1, rateLimited: 0, attempts: 3))
            // Each attempt that reached the receiver (all three, unless the machine is so loaded that one timed out
            // before its request arrived) carries the same delivery id.
            let requests = received.requests.withLock { $0 }
            #expect((1...3).contains(requests.count))
            #expect(Set(requests.map(\.delivery)).count == 1)
            #expect(requests.first?.delivery != nil)
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
            let sender = try await deliver(settings)
            #expect(received.requests.withLock { $0.count } == 1)
            #expect(sender.statistics[url]?.failed == 1)
            #expect(sender.statistics[url]?.attempts == 1)
            #expect(sender.statistics["http://127.0.0.1:1/unreachable"] == WebhookSender<ContinuousClock>.Statistics(delivered: 0, failed: 1, rateLimited: 0, attempts: 3))
        }
    }

    /// At shutdown a delivery waiting for its next attempt makes it at once, what is queued gets one attempt, and nothing
    /// is retried: with an hour of backoff this returns only if the wait is cut short (the time limit fails it otherwise).
    @Test(.timeLimit(.minutes(1))) func stoppingCutsTheBackoffShortAndRetriesNothing() async throws {
        var settings = NotificationSettings()
        let url = "http://127.0.0.1:1/unreachable"
        settings.webhookURLs = [url]
        settings.webhookBackoff = .seconds(3600)
        settings.webhookMaxAttempts = 5
        settings.webhookTimeout = .milliseconds(300)
        let sender = try await deliver(settings, notifications: 2) { sender in
            // The first attempt failed (connection refused): the first notification waits for its second attempt.
            while sender.waitingForRetry < 1 { try await Task.sleep(for: .milliseconds(10)) }
            sender.stopRetrying()
        }
        // The first: its attempt and the one made at once when the agent stopped; the second: one attempt.
        #expect(sender.statistics[url] == WebhookSender<ContinuousClock>.Statistics(delivered: 0, failed: 2, rateLimited: 0, attempts: 3))
    }

}
