//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import ServiceLifecycle
import Synchronization

/// The latest state of the host, as the API serves it.
public struct AgentSnapshot: Sendable {
    /// Increases on every applied batch; caches and ETags key on it.
    public var version: UInt64 = 0
    /// Time of the newest applied batch.
    public var updatedAt: Timestamp?
    public var cpu: CPUReport?
    public var memory: MemoryReport?
    public var disk: DiskReport?
    public var load: LoadReport?
    public var uptime: UptimeReport?
    public var network: NetworkReport?
    public var temperature: TemperatureReport?
    public var host: HostReport?
    public var services: ServicesReport?
    public var processes: ProcessesReport?
    /// The keys of the collectors' own `system_info` sections (``CollectorDescriptor/sectionKey`` of every
    /// registered collector), in registration order: each is in every response, `null` until reported.
    public var sectionKeys: [String]
    /// The latest ``CollectorReport/section(_:)`` of each collector, by ``SystemInfoSection/key``.
    public var sections: [String: any SystemInfoSection] = [:]
    /// The latest batch of every source (collector or plugin id), for `/metrics`.
    public var batches: [String: MetricBatch] = [:]

    public init(sectionKeys: [String] = []) {
        self.sectionKeys = sectionKeys
    }

    public mutating func apply(_ batch: MetricBatch) {
        version &+= 1
        updatedAt = batch.timestamp
        batches[batch.source] = batch
        switch batch.report {
        case .cpu(let report): cpu = report
        case .memory(let report): memory = report
        case .disk(let report): disk = report
        case .load(let report): load = report
        case .uptime(let report): uptime = report
        case .network(let report): network = report
        case .temperature(let report): temperature = report
        case .host(let report): host = report
        case .services(let report): services = report
        case .processes(let report): processes = report
        case .section(let section): sections[type(of: section).key] = section
        case nil: break
        }
    }
}

/// Keeps the latest ``AgentSnapshot`` from the bus. Reads take a lock, never an actor hop, so a
/// poll costs no more than copying a few references.
public final class SnapshotStore: Service, Sendable {
    private let state: Mutex<AgentSnapshot>
    private let bus: MetricsBus
    /// Sources whose first batch must arrive before ``isReady`` (the enabled core collectors).
    private let requiredSources: Set<String>
    private let ready = Mutex(false)

    /// - Parameter sectionKeys: ``AgentSnapshot/sectionKeys``, the `system_info` sections of the registered collectors.
    public init(bus: MetricsBus, requiredSources: Set<String>, sectionKeys: [String]) {
        self.state = Mutex(AgentSnapshot(sectionKeys: sectionKeys))
        self.bus = bus
        self.requiredSources = requiredSources
        self.ready.withLock { $0 = requiredSources.isEmpty }
    }

    /// A copy of the current snapshot.
    public var current: AgentSnapshot { state.withLock { $0 } }

    /// The current version, cheaper than copying the snapshot.
    public var version: UInt64 { state.withLock { $0.version } }

    /// True once every required source has delivered a batch.
    public var isReady: Bool { ready.withLock { $0 } }

    /// Applies one batch (the service does this for every batch on the bus).
    public func apply(_ batch: MetricBatch) {
        let checkReadiness = !isReady
        let complete = state.withLock { snapshot -> Bool in
            snapshot.apply(batch)
            // Only until ready: afterwards a batch costs no set of sources.
            return checkReadiness && requiredSources.allSatisfy { snapshot.batches[$0] != nil }
        }
        if complete { ready.withLock { $0 = true } }
    }

    public func run() async throws {
        let stream = await bus.subscribe(name: "snapshot", bufferingNewest: 256)
        await cancelWhenGracefulShutdown {
            for await batch in stream { self.apply(batch) }
        }
    }
}
