//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AsyncHTTPClient
import CSystemd
import Crypto
public import Logging
public import NIOCore
import NIOHTTP1
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Sends every alert transition to the journal (its own `MESSAGE_ID`s) and to the configured webhooks.
public final class AlertNotifier<C: Clock>: Service, Sendable where C.Duration == Duration {
    /// `MESSAGE_ID` of a transition to a higher severity (`journalctl MESSAGE_ID=…`).
    public static var raisedMessageID: String { "2ac3b017448d45f183ce5add9d7ec323" }
    /// `MESSAGE_ID` of a transition from critical down to warning.
    public static var loweredMessageID: String { "4f222b12427e41208047221038f4ec13" }
    /// `MESSAGE_ID` of a transition back to ok.
    public static var resolvedMessageID: String { "d16595b4280241feae462b796bb81929" }

    private let transitions: AsyncStream<AlertTransition>
    private let settings: NotificationSettings
    public let webhooks: WebhookSender<C>
    private let logger: Logger

    /// - Parameter transport: how webhooks are posted; the agent injects one ``AsyncHTTPClientTransport`` and shuts it down
    ///   after the services stopped.
    public init(
        transitions: AsyncStream<AlertTransition>, settings: NotificationSettings, clock: C, logger: Logger, transport: any WebhookTransport
    ) {
        self.transitions = transitions
        self.settings = settings
        self.webhooks = WebhookSender(settings: settings, clock: clock, logger: logger, transport: transport)
        self.logger = logger
    }

    /// The journal fields of one transition.
    public static func journalFields(_ transition: AlertTransition) -> [String] {
        let messageID = transition.to == .ok ? resolvedMessageID : (transition.to > transition.from ? raisedMessageID : loweredMessageID)
        let priority = transition.to == .critical ? 2 : (transition.to == .warning ? 4 : 5)
        var fields = [
            "MESSAGE=\(transition.message)", "MESSAGE_ID=\(messageID)", "PRIORITY=\(priority)", "SYSLOG_IDENTIFIER=viworks-agent",
            "SUBSYSTEM=alerts", "ALERT_RULE=\(transition.rule)", "ALERT_FROM=\(transition.from.rawValue)", "ALERT_TO=\(transition.to.rawValue)",
            "ALERT_VALUE=\(transition.value)", "ALERT_THRESHOLD=\(transition.threshold)",
        ]
        if !transition.subject.isEmpty { fields.append("ALERT_SUBJECT=\(transition.subject)") }
        if let id = transition.incidentID { fields.append("INCIDENT_ID=\(id)") }
        return fields.map { $0.replacingNewlines() }
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.webhooks.run() }
            for await transition in transitions {
                if settings.journald {
                    let result = JournaldLogHandler.send(Self.journalFields(transition), file: #fileID, line: #line, function: #function)
                    if result < 0 { logger.debug("alerts: journal entry not sent", metadata: ["errno": "\(-result)"]) }
                }
                webhooks.enqueue(transition)
            }
            // The engine ended (shutdown): what is queued gets one attempt, without retries, then stop.
            webhooks.stopRetrying()
            webhooks.finish()
            await group.waitForAll()
        }
        // Never return before the group shuts down: a service that returns ends the whole agent.
        try? await gracefulShutdown()
    }
}

extension String {
    fileprivate func replacingNewlines() -> String { replacing("\n", with: " ") }
}

// MARK: - Webhooks

/// Posts one request; returns the HTTP status. Tests may inject their own; the agent uses async-http-client.
public protocol WebhookTransport: Sendable {
    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> Int
}

/// The async-http-client transport, over a client of its own: create it once, inject it, and ``shutdown()`` it after
/// everything that posts through it stopped (async-http-client requires a client to be shut down before it goes).
public struct AsyncHTTPClientTransport: WebhookTransport {
    private let client: HTTPClient

    /// - Parameter eventLoopGroup: the loops the client runs on; nil for async-http-client's default group.
    public init(eventLoopGroup: (any EventLoopGroup)? = nil) {
        client = HTTPClient(eventLoopGroup: eventLoopGroup ?? HTTPClient.defaultEventLoopGroup)
    }

    /// Closes the client's connections; nothing may be posted afterwards.
    /// - Throws: async-http-client's error when the client was shut down already.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        let milliseconds = HistoryStore.milliseconds(timeout)
        let response = try await client.execute(request, timeout: .milliseconds(milliseconds))
        // Drain (at most 64 KiB) so the connection can be reused.
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return Int(response.status.code)
    }
}

/// Delivery to every webhook URL: one queue per destination (a slow receiver delays nobody else), retries with
/// exponential backoff on network errors, 408, 429 and 5xx, a per-destination rate limit (token bucket of
/// `webhook_rate_limit` per minute; excess notifications are dropped and counted), and an HMAC-SHA256 signature:
/// `X-ViWorks-Signature: sha256=<hex of HMAC(webhook_secret, body)>`.
public final class WebhookSender<C: Clock>: Sendable where C.Duration == Duration {
    public struct Statistics: Sendable, Hashable {
        public var delivered = 0
        public var failed = 0
        public var rateLimited = 0
        public var attempts = 0
    }

    struct Destination: Sendable {
        var url: String
        var stream: AsyncStream<Delivery>
        var continuation: AsyncStream<Delivery>.Continuation
    }

    struct Delivery: Sendable {
        var id: String
        var body: [UInt8]
    }

    struct Bucket {
        var tokens: Double
        var updated: C.Instant
    }

    /// Whether ``stopRetrying()`` was called, and the backoff waits it ends.
    struct Stopping {
        var stopped = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let destinations: [Destination]
    private let buckets: Mutex<[Bucket]>
    private let stats: Mutex<[String: Statistics]>
    private let counter = Mutex<UInt64>(0)
    private let stopping = Mutex(Stopping())
    private let settings: NotificationSettings
    private let clock: C
    private let logger: Logger
    private let transport: any WebhookTransport
    private let host: String

    public init(settings: NotificationSettings, clock: C, logger: Logger, transport: any WebhookTransport) {
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.transport = transport
        self.destinations = settings.webhookURLs.map { url in
            let (stream, continuation) = AsyncStream.makeStream(of: Delivery.self, bufferingPolicy: .bufferingNewest(1000))
            return Destination(url: url, stream: stream, continuation: continuation)
        }
        let now = clock.now
        self.buckets = Mutex(settings.webhookURLs.map { _ in Bucket(tokens: Double(settings.webhookRateLimit), updated: now) })
        self.stats = Mutex(Dictionary(settings.webhookURLs.map { ($0, Statistics()) }, uniquingKeysWith: { first, _ in first }))
        self.host = Self.hostname()
    }

    /// Per destination URL.
    public var statistics: [String: Statistics] { stats.withLock { $0 } }

    /// The JSON body of a transition.
    public static func body(_ transition: AlertTransition, host: String) -> [UInt8] {
        let incident = transition.incidentID.map { "\($0)" } ?? "null"
        let value = transition.value.isFinite ? "\(transition.value)" : "null"
        let text =
            "{\"event\":\"alert_transition\",\"host\":\(JSONString.quote(host)),\"rule\":\(JSONString.quote(transition.rule)),"
            + "\"subject\":\(JSONString.quote(transition.subject)),\"from\":\"\(transition.from.rawValue)\",\"to\":\"\(transition.to.rawValue)\","
            + "\"value\":\(value),\"threshold\":\(transition.threshold),\"timestamp\":\"\(transition.at.rfc3339)\",\"incident_id\":\(incident),"
            + "\"message\":\(JSONString.quote(transition.message))}"
        return Array(text.utf8)
    }

    /// `sha256=<hex>` of HMAC-SHA256 over `body` with `secret`.
    public static func signature(body: [UInt8], secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + Hex.encode(code)
    }

    /// Queues `transition` for every destination whose rate limit allows it.
    public func enqueue(_ transition: AlertTransition) {
        guard !destinations.isEmpty else { return }
        let body = Self.body(transition, host: host)
        let sequence = counter.withLock { value -> UInt64 in
            value += 1
            return value
        }
        let id = "\(transition.at.nanosecondsSinceEpoch)-\(sequence)"
        let now = clock.now
        let perMinute = Double(settings.webhookRateLimit)
        let allowed = buckets.withLock { buckets -> [Bool] in
            buckets.indices.map { index in
                let elapsed = buckets[index].updated.duration(to: now)
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                buckets[index].tokens = min(perMinute, buckets[index].tokens + max(0, seconds) * perMinute / 60)
                buckets[index].updated = now
                guard buckets[index].tokens >= 1 else { return false }
                buckets[index].tokens -= 1
                return true
            }
        }
        for (index, destination) in destinations.enumerated() {
            if allowed[index] {
                destination.continuation.yield(Delivery(id: id, body: body))
            } else {
                stats.withLock { $0[destination.url]?.rateLimited += 1 }
                logger.warning("alerts: webhook rate limit reached; notification dropped", metadata: ["webhook.url": "\(destination.url)"])
            }
        }
    }

    /// The agent is stopping: from now on no delivery is retried, and a delivery waiting for its next attempt makes it at
    /// once. What is queued still gets its attempt, so the shutdown waits for at most one `webhook_timeout` per queued
    /// notification and destination instead of every attempt and backoff of each (an unreachable receiver held a
    /// stopping agent for 36 s and more with the defaults).
    public func stopRetrying() {
        let waiters = stopping.withLock { state in
            state.stopped = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    private var isStopping: Bool { stopping.withLock { $0.stopped } }

    /// Deliveries waiting for their next attempt.
    var waitingForRetry: Int { stopping.withLock { $0.waiters.count } }

    /// Waits `duration`, or less when ``stopRetrying()`` is called meanwhile.
    /// - Throws: `CancellationError` when the task is cancelled.
    private func backoff(_ duration: Duration) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.clock.sleep(for: duration) }
            group.addTask { await self.untilStopping() }
            _ = try await group.next()
            group.cancelAll()
        }
        // A cancelled task also ends the wait through `untilStopping`; it must not go on to the next attempt.
        try Task.checkCancellation()
    }

    /// Returns once ``stopRetrying()`` was called or the task is cancelled.
    private func untilStopping() async {
        let id = stopping.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = stopping.withLock { state -> Bool in
                    if state.stopped || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            stopping.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Ends the queues: ``run()`` returns once they are drained.
    public func finish() {
        for destination in destinations { destination.continuation.finish() }
    }

    /// Delivers until ``finish()``.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for destination in destinations {
                group.addTask {
                    for await delivery in destination.stream { await self.deliver(delivery, to: destination.url) }
                }
            }
        }
    }

    /// One delivery with its retries.
    func deliver(_ delivery: Delivery, to url: String) async {
        var headers = [("Content-Type", "application/json"), ("User-Agent", "viworks-agent"), ("X-ViWorks-Delivery", delivery.id)]
        if !settings.webhookSecret.isEmpty { headers.append(("X-ViWorks-Signature", Self.signature(body: delivery.body, secret: settings.webhookSecret))) }
        var delay = settings.webhookBackoff
        for attempt in 1...settings.webhookMaxAttempts {
            stats.withLock { $0[url]?.attempts += 1 }
            var retry = true
            var outcome = ""
            do {
                let status = try await transport.post(url: url, headers: headers, body: delivery.body, timeout: settings.webhookTimeout)
                if (200..<300).contains(status) {
                    stats.withLock { $0[url]?.delivered += 1 }
                    return
                }
                retry = status >= 500 || status == 408 || status == 429
                outcome = "HTTP \(status)"
            } catch {
                outcome = "\(error)"
            }
            guard retry, attempt < settings.webhookMaxAttempts, !isStopping else {
                logger.warning(
                    retry && attempt < settings.webhookMaxAttempts
                        ? "alerts: webhook delivery failed; not retried, the agent is stopping" : "alerts: webhook delivery failed",
                    metadata: ["webhook.url": "\(url)", "attempts": "\(attempt)", "error": "\(outcome)"])
                break
            }
            do {
                try await backoff(delay)
            } catch {
                break
            }
            delay = delay * 2
        }
        stats.withLock { $0[url]?.failed += 1 }
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
