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
        [
            CPUCollector(),
            MemoryCollector(),
            DiskCollector(settings: configuration.disk),
            LoadCollector(),
            UptimeCollector(),
            NetworkCollector(settings: configuration.network),
            TemperatureCollector(),
            HostCollector(),
            ServicesCollector(settings: configuration.services),
            ProcessesCollector(settings: configuration.processes),
            PressureCollector(),
        ]
    }
}
