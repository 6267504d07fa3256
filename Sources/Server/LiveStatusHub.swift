//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization

/// The events of `GET /api/v1/stream`: one `status` event (the `/api/v1/status` document) after each collection, and
/// one `alerts` event (the `/api/v1/alerts` document) whenever the active alerts change.
///
/// One hub serves every client: it listens to the metrics bus, waits a moment after a batch so that the batches of one
/// collection round make one event, encodes the document once (the status route's cached bytes), and hands the same
/// frame to every open stream. The last events are kept, so that a client that reconnects with `Last-Event-ID`
/// gets what it missed, or the latest state when that is no longer kept. A comment line goes to every stream each
/// `[stream] keepalive`; at most `[stream] max_clients` streams are open at once.
public final class LiveStatusHub: Service, Sendable {
    /// What a stream receives.
    enum Item: Sendable {
        case event(Event)
        case keepAlive
    }

    /// One event as written on the wire.
    struct Event: Sendable {
        var sequence: UInt64
        var kind: Kind
        /// The whole frame: `id:`, `event:`, `data:` and the blank line.
        var frame: String
    }

    enum Kind: String, Sendable {
        case status
        case alerts
    }

    /// Refused: `max_clients` streams are open.
    struct TooManyStreams: Error {
        var limit: Int
    }

    private struct Client {
        var continuation: AsyncStream<Item>.Continuation
        /// Events still to send before the stream ends (`max_events`); nil for no end.
        var remaining: Int?
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
    /// status and alerts events), then every new event and keep-alive.
    /// - Parameters:
    ///   - lastEventID: the `Last-Event-ID` the client sent, already checked for its shape.
    ///   - maxEvents: the stream ends after this many events; nil never.
    /// - Throws: ``TooManyStreams`` when `max_clients` streams are open.
    func subscribe(lastEventID: String?, maxEvents: Int?) throws(TooManyStreams) -> AsyncStream<Item> {
        let (stream, continuation) = AsyncStream.makeStream(of: Item.self, bufferingPolicy: .bufferingNewest(Self.kept))
        let admitted: (id: Int, done: Bool)? = state.withLock { state in
            guard state.clients.count < settings.maxClients else { return nil }
            let id = state.nextClient
            state.nextClient += 1
            var client = Client(continuation: continuation, remaining: maxEvents)
            var done = false
            for event in Self.replay(state.recent, after: resumePoint(lastEventID)) where !done {
                done = !Self.deliver(.event(event), to: &client)
            }
            if !done { state.clients[id] = client }
            return (id, done)
        }
        guard let admitted else { throw TooManyStreams(limit: settings.maxClients) }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.clients.removeValue(forKey: admitted.id) }
        }
        if admitted.done { continuation.finish() }
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

    /// Yields `item`; false when the client is done (its `max_events` reached): the caller finishes its stream after
    /// releasing the lock, since finishing runs the stream's termination handler, which takes the lock.
    private static func deliver(_ item: Item, to client: inout Client) -> Bool {
        client.continuation.yield(item)
        guard case .event = item, let remaining = client.remaining else { return true }
        client.remaining = remaining - 1
        return remaining - 1 > 0
    }

    private func broadcast(_ item: Item) {
        let done = state.withLock { state -> [AsyncStream<Item>.Continuation] in
            var done: [AsyncStream<Item>.Continuation] = []
            for id in Array(state.clients.keys) {
                guard var client = state.clients[id] else { continue }
                if Self.deliver(item, to: &client) {
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

    private func publish(_ kind: Kind, data: ByteBuffer) {
        let event = state.withLock { state -> Event in
            state.sequence += 1
            let event = Event(
                sequence: state.sequence, kind: kind,
                frame: "id: \(generation)-\(state.sequence)\nevent: \(kind.rawValue)\ndata: \(String(buffer: data))\n\n")
            state.recent.append(event)
            if state.recent.count > Self.kept { state.recent.removeFirst(state.recent.count - Self.kept) }
            return event
        }
        broadcast(.event(event))
    }

    /// Sends a status event when a collection changed the snapshot, and an alerts event when the alerts changed.
    func update() async {
        let version = snapshots.version
        let generation = alerts?.generation
        let (statusChanged, alertsChanged) = state.withLock { state -> (Bool, Bool) in
            let statusChanged = state.lastVersion != version
            let alertsChanged = generation != nil && state.lastAlertsGeneration != generation
            state.lastVersion = version
            state.lastAlertsGeneration = generation
            return (statusChanged, alertsChanged)
        }
        do {
            if statusChanged, snapshots.isReady || version > 0 { publish(.status, data: try await status.statusBody()) }
            if alertsChanged, let alerts { publish(.alerts, data: try encode(AlertsDTO(summary: alerts.summary(), alerts: alerts.active()))) }
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
                        self.broadcast(.keepAlive)
                        // Alerts that changed without a batch (an alert's hold time ending) are sent here at the latest.
                        await self.update()
                    }
                }
                group.addTask {
                    for await _ in batches {
                        do { try await Task.sleep(for: Self.settle) } catch { return }
                        await self.update()
                    }
                }
            }
        }
        let open = state.withLock { state in
            defer { state.clients.removeAll() }
            return state.clients.values.map(\.continuation)
        }
        for continuation in open { continuation.finish() }
    }
}
