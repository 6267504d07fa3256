//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization

/// The events of `GET /api/v1/stream`: after each collection one `status` event (the `/api/v1/status` document) and
/// one `status-simple` event (the `/api/v1/status-simple` document: the verdict and its reasons), and one `alerts`
/// event (the `/api/v1/alerts` document) whenever the active alerts change.
///
/// One hub serves every client: it listens to the metrics bus, waits a moment after a batch so that the batches of one
/// collection round make one publication, encodes each document once (the status routes' cached bytes), frames the
/// events once, and hands the same bytes to every open stream (one write per client and publication). The last
/// events are kept, so that a client that reconnects with `Last-Event-ID` gets what it missed, or the latest state
/// when that is no longer kept. A comment line goes to every stream each `[stream] keepalive`; at most
/// `[stream] max_clients` streams are open at once. A stream opened with a JWT ends when the token expires, one opened
/// with an API key at the first keep-alive after a reload removed the key: an `event: error` says why.
public final class LiveStatusHub: Service, Sendable {
    /// What a stream receives.
    enum Item: Sendable {
        /// The events of one publication (or of a replay), written at once.
        case events(Batch)
        case keepAlive
        /// The last frame of a stream whose credential is no longer accepted (`event: error`).
        case end(ByteBuffer)
    }

    /// One event as written on the wire.
    struct Event: Sendable {
        var sequence: UInt64
        var kind: Kind
        /// The whole frame: `id:`, `event:`, `data:` and the blank line.
        var frame: ByteBuffer
    }

    /// Events written together, and their frames one after the other (shared by every client: no copy per client).
    struct Batch: Sendable {
        var events: [Event]
        var bytes: ByteBuffer

        init(_ events: [Event]) {
            self.events = events
            if events.count == 1 {
                bytes = events[0].frame
            } else {
                var bytes = ByteBuffer()
                bytes.reserveCapacity(events.reduce(0) { $0 + $1.frame.readableBytes })
                for event in events { bytes.writeImmutableBuffer(event.frame) }
                self.bytes = bytes
            }
        }

        /// The first `count` events.
        func prefix(_ count: Int) -> Batch { count >= events.count ? self : Batch(Array(events.prefix(count))) }
    }

    enum Kind: String, Sendable {
        case status
        case statusSimple = "status-simple"
        case alerts
    }

    /// What a stream's credential allows.
    struct Credential: Sendable {
        /// Time left until the credential is refused (a JWT's `exp` plus the leeway); nil when it does not expire.
        var expiresIn: Duration?
        /// Asked at every keep-alive: nil while the credential is accepted, else why not (a reload removed the API key).
        var revoked: (@Sendable () -> String?)?
    }

    /// Refused: `max_clients` streams are open.
    struct TooManyStreams: Error {
        var limit: Int
    }

    private struct Client {
        var continuation: AsyncStream<Item>.Continuation
        /// Events still to send before the stream ends (`max_events`); nil for no end.
        var remaining: Int?
        var revoked: (@Sendable () -> String?)?
        /// Ends the stream when the credential expires.
        var expiry: Task<Void, Never>?
    }

    private struct State {
        var sequence: UInt64 = 0
        var recent: [Event] = []
        var clients: [Int: Client] = [:]
        var nextClient = 0
        var lastVersion: UInt64?
        var lastAlertsGeneration: UInt64?
    }

    /// Events kept for `Last-Event-ID` resumption.
    static let kept = 64
    /// How long the hub waits after a batch before it sends, so the batches of one round make one event.
    static let settle: Duration = .milliseconds(200)

    private let state = Mutex(State())
    /// The update in progress (``update(catchingUp:)``).
    private let updating = Mutex<Task<Void, Never>?>(nil)
    private let bus: MetricsBus
    private let settings: StreamSettings
    private let status: StatusController
    private let alerts: AlertEngine?
    private let snapshots: SnapshotStore
    private let logger: Logger
    /// Distinguishes agent processes in event ids: an id from an earlier run never resumes.
    let generation: String

    /// - Parameter dependencies: what the status document is made of (the hub encodes it as the status route does).
    public init(dependencies: APIDependencies, bus: MetricsBus, settings: StreamSettings, logger: Logger) {
        self.bus = bus
        self.settings = settings
        self.status = StatusController(dependencies: dependencies)
        self.alerts = dependencies.alerts
        self.snapshots = dependencies.snapshots
        self.logger = logger
        self.generation = String(UInt64(bitPattern: dependencies.startTimestamp.nanosecondsSinceEpoch), radix: 16)
    }

    /// Streams open now.
    public var clientCount: Int { state.withLock { $0.clients.count } }

    /// The most streams open at once (`[stream] max_clients`).
    public var maximumClients: Int { settings.maxClients }

    /// A new stream: first what a client resuming after `lastEventID` missed (or, without a kept match, the latest
    /// event of each kind), then every new event and keep-alive.
    /// - Parameters:
    ///   - lastEventID: the `Last-Event-ID` the client sent, already checked for its shape.
    ///   - maxEvents: the stream ends after this many events; nil never.
    ///   - credential: when the stream ends because its credential is no longer accepted.
    /// - Throws: ``TooManyStreams`` when `max_clients` streams are open.
    func subscribe(lastEventID: String?, maxEvents: Int?, credential: Credential = Credential()) throws(TooManyStreams) -> AsyncStream<Item> {
        let (stream, continuation) = AsyncStream.makeStream(of: Item.self, bufferingPolicy: .bufferingNewest(Self.kept))
        let admitted: (id: Int, done: Bool)? = state.withLock { state in
            guard state.clients.count < settings.maxClients else { return nil }
            let id = state.nextClient
            state.nextClient += 1
            var client = Client(continuation: continuation, remaining: maxEvents, revoked: credential.revoked)
            let missed = Self.replay(state.recent, after: resumePoint(lastEventID))
            let done = !missed.isEmpty && !Self.deliver(Batch(missed), to: &client)
            if !done { state.clients[id] = client }
            return (id, done)
        }
        guard let admitted else { throw TooManyStreams(limit: settings.maxClients) }
        continuation.onTermination = { [weak self] _ in
            let client = self?.state.withLock { $0.clients.removeValue(forKey: admitted.id) }
            client?.expiry?.cancel()
        }
        if admitted.done {
            continuation.finish()
        } else if let expiresIn = credential.expiresIn {
            let expiry = Task { [weak self] in
                do { try await Task.sleep(for: expiresIn) } catch { return }
                self?.end(admitted.id, code: "token_expired", message: "the token expired; sign in again with a new one")
            }
            let kept = state.withLock { state in
                guard state.clients[admitted.id] != nil else { return false }
                state.clients[admitted.id]?.expiry = expiry
                return true
            }
            if !kept { expiry.cancel() }
        }
        return stream
    }

    /// The sequence number after which a client resumes; nil when the id is not one of this process's.
    private func resumePoint(_ lastEventID: String?) -> UInt64? {
        guard let lastEventID, let dash = lastEventID.firstIndex(of: "-"), lastEventID[..<dash] == generation else { return nil }
        return UInt64(lastEventID[lastEventID.index(after: dash)...])
    }

    /// The kept events after `sequence` when the kept events reach back that far; else the latest of each kind.
    static func replay(_ recent: [Event], after sequence: UInt64?) -> [Event] {
        if let sequence, let oldest = recent.first, oldest.sequence <= sequence + 1 {
            return recent.filter { $0.sequence > sequence }
        }
        var latest: [Kind: Event] = [:]
        for event in recent { latest[event.kind] = event }
        return latest.values.sorted { $0.sequence < $1.sequence }
    }

    /// Yields `batch`, cut to the events the client still takes; false when the client is done (its `max_events`
    /// reached): the caller finishes its stream after releasing the lock, since finishing runs the stream's
    /// termination handler, which takes the lock.
    private static func deliver(_ batch: Batch, to client: inout Client) -> Bool {
        guard let remaining = client.remaining else {
            client.continuation.yield(.events(batch))
            return true
        }
        let taken = batch.prefix(remaining)
        client.continuation.yield(.events(taken))
        client.remaining = remaining - taken.events.count
        return remaining - taken.events.count > 0
    }

    private func broadcast(_ item: Item) {
        let done = state.withLock { state -> [AsyncStream<Item>.Continuation] in
            guard case .events(let batch) = item else {
                for client in state.clients.values { client.continuation.yield(item) }
                return []
            }
            var done: [AsyncStream<Item>.Continuation] = []
            for id in Array(state.clients.keys) {
                guard var client = state.clients[id] else { continue }
                if Self.deliver(batch, to: &client) {
                    state.clients[id] = client
                } else {
                    state.clients[id] = nil
                    done.append(client.continuation)
                }
            }
            return done
        }
        for continuation in done { continuation.finish() }
    }

    /// The `event: error` frame that ends a stream, with the API's error shape in `data`.
    static func errorFrame(code: String, message: String) -> ByteBuffer {
        ByteBuffer(string: "event: error\ndata: {\"error\":{\"code\":\(JSONString.quote(code)),\"message\":\(JSONString.quote(message))}}\n\n")
    }

    /// Ends one stream with an `event: error` frame.
    private func end(_ id: Int, code: String, message: String) {
        guard let client = state.withLock({ $0.clients.removeValue(forKey: id) }) else { return }
        client.continuation.yield(.end(Self.errorFrame(code: code, message: message)))
        client.continuation.finish()
    }

    /// Ends the streams whose credential is no longer accepted (a reload removed the API key), then writes a keep-alive
    /// comment to the others.
    func keepAlive() {
        let checks = state.withLock { state in state.clients.compactMap { id, client in client.revoked.map { (id, $0) } } }
        for (id, revoked) in checks {
            if let reason = revoked() { end(id, code: "credential_revoked", message: reason) }
        }
        broadcast(.keepAlive)
    }

    /// Frames the documents as events (consecutive ids), keeps them for resumption and sends them in one batch.
    private func publish(_ documents: [(Kind, ByteBuffer)]) {
        guard !documents.isEmpty else { return }
        let batch = state.withLock { state -> Batch in
            var events: [Event] = []
            for (kind, data) in documents {
                state.sequence += 1
                var frame = ByteBuffer()
                frame.reserveCapacity(data.readableBytes + 64)
                frame.writeString("id: \(generation)-\(state.sequence)\nevent: \(kind.rawValue)\ndata: ")
                frame.writeImmutableBuffer(data)
                frame.writeString("\n\n")
                events.append(Event(sequence: state.sequence, kind: kind, frame: frame))
            }
            state.recent.append(contentsOf: events)
            if state.recent.count > Self.kept { state.recent.removeFirst(state.recent.count - Self.kept) }
            return Batch(events)
        }
        broadcast(.events(batch))
    }

    /// Sends the status and status-simple events when a collection changed the snapshot, and an alerts event when the
    /// alerts changed.
    ///
    /// While no stream is open the status documents are not encoded at each collection: the kept ones stay as they are
    /// until a stream opens, which first calls this with `catchingUp` (``StreamController``), so it replays the
    /// current state. The first status events are made in any case, so that there is always something to replay.
    /// Updates run one at a time: one that is asked for while another encodes waits for it and then looks again, so a
    /// stream that opens meanwhile replays the documents that update made, not older ones.
    func update(catchingUp: Bool = false) async {
        while true {
            let (running, mine) = updating.withLock { updating -> (Task<Void, Never>, Bool) in
                if let updating { return (updating, false) }
                let task = Task {
                    await self.updateAlone(catchingUp: catchingUp)
                    self.updating.withLock { $0 = nil }
                }
                updating = task
                return (task, true)
            }
            await running.value
            if mine { return }
        }
    }

    private func updateAlone(catchingUp: Bool) async {
        let version = snapshots.version
        let generation = alerts?.generation
        let (statusChanged, alertsChanged) = state.withLock { state -> (Bool, Bool) in
            let idle = !catchingUp && state.clients.isEmpty && state.recent.contains { $0.kind == .status }
            let statusChanged = !idle && state.lastVersion != version
            let alertsChanged = generation != nil && state.lastAlertsGeneration != generation
            if !idle { state.lastVersion = version }
            state.lastAlertsGeneration = generation
            return (statusChanged, alertsChanged)
        }
        do {
            var documents: [(Kind, ByteBuffer)] = []
            if statusChanged, snapshots.isReady || version > 0 {
                documents.append((.status, try await status.statusBody()))
                documents.append((.statusSimple, try await status.simpleStatusBody()))
            }
            if alertsChanged, let alerts { documents.append((.alerts, try encode(AlertsDTO(summary: alerts.summary(), alerts: alerts.active())))) }
            publish(documents)
        } catch {
            logger.warning("the live status event could not be encoded", metadata: ["error": "\(error)"])
        }
    }

    public func run() async throws {
        let batches = await bus.subscribe(name: "stream", bufferingNewest: 64)
        // A collection that landed before the subscription still makes the first event.
        await update()
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: self.settings.keepAlive) } catch { return }
                        self.keepAlive()
                        // Alerts that changed without a batch (an alert's hold time ending) are sent here at the latest.
                        await self.update()
                    }
                }
                // The bus's batches are taken as they come (a subscriber that fell behind would lose batches, and the
                // bus counts that as a fault); each wakes the publisher, whose wake-ups fold into one while it waits
                // out the settle time: one publication per burst of batches (per collection round), not per batch.
                let (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
                group.addTask {
                    for await _ in batches { wake.yield() }
                    wake.finish()
                }
                group.addTask {
                    for await _ in wakeUps {
                        do { try await Task.sleep(for: Self.settle) } catch { return }
                        await self.update()
                    }
                }
            }
        }
        let open = state.withLock { state in
            defer { state.clients.removeAll() }
            return state.clients.values.map { ($0.continuation, $0.expiry) }
        }
        for (continuation, expiry) in open {
            expiry?.cancel()
            continuation.finish()
        }
    }
}
