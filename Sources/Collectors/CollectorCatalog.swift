//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// The built-in collectors, listed explicitly (no registration by side effect).
public enum CollectorCatalog {
    /// All eleven built-in collectors, configured from `configuration`. Whether each one runs is
    /// decided by the caller from its ``CollectorDescriptor`` and `[collectors.<id>] enabled`.
    public static func builtins(configuration: AgentConfiguration) -> [any Collector] {
        let processTable = SharedProcessTable()
        return [
            CPUCollector(),
            MemoryCollector(),
            DiskCollector(settings: configuration.options(DiskSettings.self, for: "disk")),
            LoadCollector(),
            UptimeCollector(),
            NetworkCollector(settings: configuration.options(NetworkSettings.self, for: "network")),
            TemperatureCollector(),
            HostCollector(),
            ServicesCollector(settings: configuration.services, processTable: processTable),
            ProcessesCollector(settings: configuration.options(ProcessesSettings.self, for: "processes"), processTable: processTable),
            PressureCollector(),
        ]
    }

    /// The options of the collectors that have any, by collector id.
    static var options: [String: any CollectorOptions.Type] {
        ["disk": DiskSettings.self, "network": NetworkSettings.self, "processes": ProcessesSettings.self]
    }

    /// The keys of the built-in collectors' own `system_info` sections, in catalog order: ``AgentSnapshot/sectionKeys``.
    /// Descriptors do not depend on the configuration: read once per process.
    public static let systemInfoSectionKeys: [String] = builtins(configuration: AgentConfiguration()).compactMap(\.descriptor.sectionKey)

    /// The `[collectors.<id>]` tables a configuration may have: every built-in collector with its options (read once per
    /// process, not at every load and reload).
    public static let configSchemas: [CollectorConfigSchema] = builtins(configuration: AgentConfiguration()).map {
        CollectorConfigSchema(id: $0.descriptor.id, options: options[$0.descriptor.id])
    }
}
