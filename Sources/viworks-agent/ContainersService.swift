//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentContainers
import AgentRuntime
import Logging
import ServiceLifecycle

/// The containers of the agent, when `[containers]` is on: the session manager (engine connection, event stream,
/// reaper) and the container monitor (status and `/metrics`), until graceful shutdown.
struct ContainersService: Service {
    let manager: SessionManager
    let monitor: ContainerMonitor

    func run() async {
        // Shutdown cancels both loops; the service then ends normally (an error would fail the whole agent's exit).
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await manager.run() }
                group.addTask { await monitor.run() }
            }
        }
    }
}

/// The container parts of the agent, built by ``Agent/makeContainers(_:audit:logger:)``.
struct AgentContainersPart {
    /// nil when containers are off or could not be set up (the session routes answer 503).
    let manager: SessionManager?
    /// Always present: it reports the engine disabled or unavailable with the reason when there is no manager.
    let monitor: ContainerMonitor
    /// nil without a manager.
    let service: ContainersService?
    /// Closed by ``close()`` once the services stopped.
    let engine: DockerEngine?
    let store: SessionStore?

    /// Closes the engine client and the session store.
    func close() async {
        try? await engine?.shutdown()
        try? store?.close()
    }
}

extension Agent {
    /// `<state_directory>/sessions.sqlite`.
    static func sessionStorePath(_ configuration: AgentConfiguration) -> String { configuration.stateDirectory + "/sessions.sqlite" }

    /// The session manager and the container monitor when `[containers]` is on (`enabled = true`, or `auto` and the
    /// socket exists). Nothing here stops the agent from starting: the engine is only contacted by the running
    /// service (absent or down, it is reported `unavailable` with the reason), and a session store that cannot be
    /// opened leaves containers `unavailable` with that reason. `audit` records the sessions reconciliation closes or
    /// removes by itself (nil without an audit log).
    static func makeContainers(
        _ configuration: AgentConfiguration, audit: (@Sendable (AuditRecord) throws -> AuditRecord?)?, logger: Logger
    ) async -> AgentContainersPart {
        let settings = configuration.containers
        if let reason = settings.disabledReason {
            logger.info("containers are disabled", metadata: ["reason": "\(reason)"])
            return AgentContainersPart(manager: nil, monitor: ContainerMonitor(disabled: reason), service: nil, engine: nil, store: nil)
        }
        let path = sessionStorePath(configuration)
        let store: SessionStore
        do {
            store = try SessionStore(path: path)
        } catch {
            logger.error("the session store cannot be opened: sessions are refused", metadata: ["error": "\(error)", "path": "\(path)"])
            return AgentContainersPart(manager: nil, monitor: ContainerMonitor(unavailable: "\(error)"), service: nil, engine: nil, store: nil)
        }
        let engine = DockerEngine(socketPath: settings.socket, timeout: settings.engineTimeout)
        let manager: SessionManager
        do {
            manager = try await SessionManager(settings: settings, engine: engine, store: store, logger: logger, audit: audit)
        } catch {
            logger.error("the session records cannot be read: sessions are refused", metadata: ["error": "\(error)", "path": "\(path)"])
            try? await engine.shutdown()
            try? store.close()
            return AgentContainersPart(manager: nil, monitor: ContainerMonitor(unavailable: "\(error)"), service: nil, engine: nil, store: nil)
        }
        let monitor = ContainerMonitor(manager: manager, showAll: settings.showAll, interval: configuration.interval, logger: logger)
        logger.info(
            "containers", metadata: ["socket": "\(settings.socket)", "templates": "\(settings.templates.keys.sorted().joined(separator: ","))", "path": "\(path)"])
        return AgentContainersPart(manager: manager, monitor: monitor, service: ContainersService(manager: manager, monitor: monitor), engine: engine, store: store)
    }
}
