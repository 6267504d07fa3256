//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Logging

/// Turns the bus's batches into collections and stores each collection's rows in the outbox.
///
/// The collectors publish one batch each per interval, a few milliseconds apart. A collection is complete when a
/// source publishes again (its next round began) or when the bus has been quiet for the settle time; its rows are
/// taken from the snapshot at that moment, which is what `/api/v1/status` serves then: the `timestamp` is the snapshot's
/// `updatedAt`, the figures are `system_health`'s. An `agent_metrics` row is stored when cpu, memory, load or uptime
/// reported in the collection, the `service_status` rows when the services collector did; with `extended`, the
/// `agent_filesystems` rows when the disk collector did and the `agent_network` row when the network collector did.
actor CollectionRecorder {
    private let outbox: Outbox
    private let limits: Outbox.Limits
    private let extended: Bool
    private let board: OutputBoard
    private let name: String
    private let logger: Logger
    private var snapshot = AgentSnapshot()
    private var pending: Set<String> = []
    private var metricsChanged = false
    private var servicesChanged = false
    private var diskChanged = false
    private var networkChanged = false
    private var lastBatch: ContinuousClock.Instant?
    /// The sessions as last stored, by id.
    private var sessions: [String: SessionRecord] = [:]
    /// Rows dropped in the current episode of a full backlog; nil when not dropping.
    private var droppingEpisode: Int?
    private var storeFailing = false

    init(outbox: Outbox, limits: Outbox.Limits, extended: Bool, board: OutputBoard, name: String, logger: Logger) {
        self.outbox = outbox
        self.limits = limits
        self.extended = extended
        self.board = board
        self.name = name
        self.logger = logger
    }

    /// Applies one batch; a source already seen in this collection first completes it.
    func apply(_ batch: MetricBatch) {
        if pending.contains(batch.source) { record() }
        snapshot.apply(batch)
        pending.insert(batch.source)
        switch batch.report {
        case .cpu, .memory, .load, .uptime: metricsChanged = true
        case .services: servicesChanged = true
        case .disk: diskChanged = true
        case .network: networkChanged = true
        default: break
        }
        lastBatch = .now
    }

    /// Completes the collection when no batch came for `settle`.
    func recordIfQuiet(settle: Duration) {
        guard !pending.isEmpty, let lastBatch, lastBatch.duration(to: .now) >= settle else { return }
        record()
    }

    /// Stores one `container_sessions` row per session that is new or changed since the last call (all of them after a
    /// start: the upsert makes that harmless). Sessions no longer listed keep their last row.
    func recordSessions(_ current: [SessionRecord]) {
        let changed = current.filter { sessions[$0.sessionID] != $0 }
        guard !changed.isEmpty else { return }
        let now = Timestamp.now()
        if store(changed.map { OutboxRow.session($0, at: now) }) {
            for record in changed { sessions[record.sessionID] = record }
        }
    }

    /// Stores the current collection's rows (if any) in one outbox transaction.
    func record() {
        defer {
            pending = []
            metricsChanged = false
            servicesChanged = false
            diskChanged = false
            networkChanged = false
        }
        guard metricsChanged || servicesChanged || (extended && (diskChanged || networkChanged)), let at = snapshot.updatedAt else { return }
        var rows: [OutboxRow] = []
        if metricsChanged { rows.append(.metrics(snapshot, at: at)) }
        if servicesChanged { rows += OutboxRow.services(snapshot, at: at) }
        if extended, diskChanged { rows += OutboxRow.filesystems(snapshot, at: at) }
        if extended, networkChanged { rows += OutboxRow.network(snapshot, at: at) }
        guard !rows.isEmpty else { return }
        store(rows)
    }

    /// Appends `rows` in one transaction, with the backlog limits; updates the board. False when the outbox failed.
    @discardableResult
    private func store(_ rows: [OutboxRow]) -> Bool {
        do {
            let dropped = try outbox.append(rows, limits: limits, now: .now())
            if storeFailing {
                storeFailing = false
                logger.notice("outputs.\(name): the outbox stores collections again", metadata: ["outbox": "\(outbox.path)"])
            }
            noteDropped(dropped)
            let backlog = try outbox.backlog()
            board.update(name) { state in
                state.backlogRows = backlog.rows
                state.oldestBacklogAt = backlog.oldestMicroseconds.map { Timestamp(nanosecondsSinceEpoch: $0 &* 1000) }
                state.droppedRows &+= UInt64(dropped)
            }
            return true
        } catch {
            if !storeFailing {
                storeFailing = true
                logger.error(
                    "outputs.\(name): cannot store a collection in the outbox; it will not be pushed",
                    metadata: ["outbox": "\(outbox.path)", "error": "\(error)"])
            }
            return false
        }
    }

    /// Logs the first drop of an episode of a full backlog and its end (the first collection stored without a drop).
    private func noteDropped(_ dropped: Int) {
        if dropped > 0 {
            if droppingEpisode == nil {
                logger.warning(
                    "outputs.\(name): the outbox is full, the oldest rows are dropped until the database takes rows again",
                    metadata: [
                        "max_backlog_rows": "\(limits.maxRows)", "max_backlog_age": "\(limits.maxAge.secondsDouble)s", "dropped": "\(dropped)",
                    ])
            }
            droppingEpisode = (droppingEpisode ?? 0) + dropped
        } else if let total = droppingEpisode {
            droppingEpisode = nil
            logger.notice("outputs.\(name): the outbox stopped dropping rows", metadata: ["dropped": "\(total)"])
        }
    }
}
