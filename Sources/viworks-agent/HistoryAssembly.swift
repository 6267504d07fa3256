//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import AgentServer
import Logging
import ServiceLifecycle

/// Wires issue 8: the database under the state directory, the history writer, the alert engine and its notifier.
/// When the database cannot be opened the agent still runs: history routes answer 503 with the reason and
/// incidents are kept in memory.
struct HistoryAssembly {
    let database: HistoryDatabase?
    let writer: HistoryWriter<ContinuousClock>?
    let engine: AlertEngine
    let notifier: AlertNotifier<ContinuousClock>
    let context: HistoryContext

    init(configuration: AgentConfiguration, bus: MetricsBus, logger: Logger, services: (@Sendable () -> [ServiceAlertInput])? = nil) {
        let path = configuration.history.databasePath(stateDirectory: configuration.stateDirectory)
        var database: HistoryDatabase?
        var reason = "history is disabled ([history] enabled = false)"
        if configuration.history.enabled || configuration.alerts.enabled {
            do {
                database = try HistoryDatabase(path: path)
                logger.info("history database open", metadata: ["history.path": "\(path)"])
            } catch {
                reason = "the history database \(path) could not be opened: \(error)"
                logger.error("history: cannot open the database; history is off and incidents stay in memory", metadata: ["history.path": "\(path)", "error": "\(error)"])
            }
        }
        self.database = database
        let store = database.map(HistoryStore.init)
        if configuration.history.enabled, let store {
            writer = HistoryWriter(store: store, bus: bus, settings: configuration.history, clock: ContinuousClock(), logger: logger)
            context = HistoryContext(store: store, settings: configuration.history)
        } else {
            writer = nil
            context = HistoryContext(store: nil, settings: configuration.history, unavailableReason: reason)
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
