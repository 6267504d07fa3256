//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import AgentServer
import Logging
import ServiceLifecycle

/// Wires history: the database under the state directory, the history writer, the alert engine and its notifier.
/// A damaged database is moved aside and replaced at once; one that cannot be opened (permissions, a full disk) is
/// retried at the next access, meanwhile the history routes answer 503 `storage_unavailable` with the reason, and the
/// `storage` section of status says why.
struct HistoryAssembly {
    let database: HistoryDatabase?
    let writer: HistoryWriter<ContinuousClock>?
    let engine: AlertEngine
    let notifier: AlertNotifier<ContinuousClock>
    let context: HistoryContext

    init(
        configuration: AgentConfiguration, bus: MetricsBus, logger: Logger, storage: StorageHealth,
        services: (@Sendable () -> [ServiceAlertInput])? = nil
    ) {
        let path = configuration.history.databasePath(stateDirectory: configuration.stateDirectory)
        var database: HistoryDatabase?
        if configuration.history.enabled || configuration.alerts.enabled {
            database = HistoryDatabase(recovering: path, health: storage, logger: logger)
            logger.info("history database", metadata: ["history.path": "\(path)", "status": "\(storage.condition(.history).status.rawValue)"])
        } else {
            storage.set(.history, StorageCondition(status: .disabled, reason: "[history] enabled = false and [alerts] enabled = false"))
        }
        self.database = database
        let store = database.map(HistoryStore.init)
        if configuration.history.enabled, let store {
            writer = HistoryWriter(store: store, bus: bus, settings: configuration.history, clock: ContinuousClock(), logger: logger)
            context = HistoryContext(store: store, settings: configuration.history)
        } else {
            writer = nil
            context = HistoryContext(store: nil, settings: configuration.history, unavailableReason: "history is disabled ([history] enabled = false)")
        }
        let (transitions, continuation) = AsyncStream.makeStream(of: AlertTransition.self, bufferingPolicy: .bufferingNewest(1000))
        engine = AlertEngine(
            settings: configuration.alerts, incidents: IncidentStore(database: database), bus: bus, services: services, transitions: continuation, logger: logger)
        notifier = AlertNotifier(transitions: transitions, settings: configuration.notifications, clock: ContinuousClock(), logger: logger)
    }

    /// In start order (shutdown goes in reverse: the engine stops before the notifier drains, the writer flushes
    /// after the collectors stopped when these come before the supervisor).
    var services: [ServiceGroupConfiguration.ServiceConfiguration] {
        var list: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: notifier), .init(service: engine)]
        if let writer { list.append(.init(service: writer)) }
        return list
    }
}
