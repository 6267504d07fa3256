//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The names of the series the built-in collectors publish: the one place that spells them. The collectors that
/// produce them, and history, reports, status history and alerts that look them up, all read these constants, so
/// renaming a series is one edit here (and a rename that forgets a reader cannot compile into a silent `null`).
///
/// Names follow the Prometheus conventions: base units (`_bytes`, `_seconds`, `_celsius`, `_hertz`), `_total` for
/// counters, `_percent` for 0–100 ratios. Host-wide headline series carry no labels.
public enum MetricName {
    // MARK: CPU (`cpu` collector)

    public static let cpuCoreUsagePercent = "viworks_cpu_core_usage_percent"
    public static let cpuCores = "viworks_cpu_cores"
    public static let cpuFrequencyHertz = "viworks_cpu_frequency_hertz"
    public static let cpuIowaitPercent = "viworks_cpu_iowait_percent"
    public static let cpuSecondsTotal = "viworks_cpu_seconds_total"
    public static let cpuStealPercent = "viworks_cpu_steal_percent"
    public static let cpuUsagePercent = "viworks_cpu_usage_percent"

    // MARK: Memory (`memory`)

    public static let memoryAvailableBytes = "viworks_memory_available_bytes"
    public static let memorySwapFreeBytes = "viworks_memory_swap_free_bytes"
    public static let memorySwapTotalBytes = "viworks_memory_swap_total_bytes"
    public static let memoryTotalBytes = "viworks_memory_total_bytes"
    public static let memoryUsagePercent = "viworks_memory_usage_percent"
    public static let memoryUsedBytes = "viworks_memory_used_bytes"

    // MARK: Filesystems (`disk`)

    public static let diskUsagePercent = "viworks_disk_usage_percent"
    public static let filesystemAvailBytes = "viworks_filesystem_avail_bytes"
    public static let filesystemFiles = "viworks_filesystem_files"
    public static let filesystemFilesFree = "viworks_filesystem_files_free"
    public static let filesystemReadonly = "viworks_filesystem_readonly"
    public static let filesystemSizeBytes = "viworks_filesystem_size_bytes"
    public static let filesystemStale = "viworks_filesystem_stale"
    public static let filesystemUsagePercent = "viworks_filesystem_usage_percent"
    public static let filesystemUsedBytes = "viworks_filesystem_used_bytes"

    // MARK: Load and uptime (`load`)

    public static let bootTimeSeconds = "viworks_boot_time_seconds"
    public static let load1 = "viworks_load1"
    public static let load15 = "viworks_load15"
    public static let load5 = "viworks_load5"
    public static let loadRunnableTasks = "viworks_load_runnable_tasks"
    public static let loadTasks = "viworks_load_tasks"
    public static let uptimeSeconds = "viworks_uptime_seconds"

    // MARK: Network (`network`)

    public static let networkReceiveBytesTotal = "viworks_network_receive_bytes_total"
    public static let networkReceiveDropTotal = "viworks_network_receive_drop_total"
    public static let networkReceiveErrsTotal = "viworks_network_receive_errs_total"
    public static let networkReceivePacketsTotal = "viworks_network_receive_packets_total"
    public static let networkTransmitBytesTotal = "viworks_network_transmit_bytes_total"
    public static let networkTransmitDropTotal = "viworks_network_transmit_drop_total"
    public static let networkTransmitErrsTotal = "viworks_network_transmit_errs_total"
    public static let networkTransmitPacketsTotal = "viworks_network_transmit_packets_total"

    // MARK: Temperatures (`temperature`)

    public static let cpuTemperatureCelsius = "viworks_cpu_temperature_celsius"
    public static let hwmonTempCelsius = "viworks_hwmon_temp_celsius"
    public static let thermalZoneTempCelsius = "viworks_thermal_zone_temp_celsius"

    // MARK: Processes (`processes`)

    public static let processes = "viworks_processes"
    public static let processesState = "viworks_processes_state"
    public static let processesThreads = "viworks_processes_threads"

    // MARK: Services (`services`)

    public static let serviceCpuPercent = "viworks_service_cpu_percent"
    public static let serviceMemoryBytes = "viworks_service_memory_bytes"
    public static let serviceProbeDurationSeconds = "viworks_service_probe_duration_seconds"
    public static let serviceProbeSuccess = "viworks_service_probe_success"
    public static let serviceProcesses = "viworks_service_processes"
    public static let serviceRestartsTotal = "viworks_service_restarts_total"
    public static let serviceState = "viworks_service_state"
    public static let serviceStateChangeTimeSeconds = "viworks_service_state_change_time_seconds"
    public static let serviceUp = "viworks_service_up"

    // MARK: Containers (`[containers]`: the container monitor)

    public static let containerCpuPercent = "viworks_container_cpu_percent"
    public static let containerEngineUp = "viworks_container_engine_up"
    public static let containerMemoryBytes = "viworks_container_memory_bytes"
    public static let containerMemoryLimitBytes = "viworks_container_memory_limit_bytes"
    public static let containerOomKilled = "viworks_container_oom_killed"
    public static let containerSessions = "viworks_container_sessions"
    public static let containerUp = "viworks_container_up"

    // MARK: Host (`host`)

    public static let hostInfo = "viworks_host_info"

    // MARK: Pressure stall information (`pressure`)

    public static let pressureAvgPercent = "viworks_pressure_avg_percent"

    /// `viworks_pressure_<resource>_waiting_seconds_total`: the `some` line's total stall time of `resource` (`cpu`, `memory`, `io`).
    public static func pressureWaitingSecondsTotal(_ resource: String) -> String { "viworks_pressure_\(resource)_waiting_seconds_total" }
    /// `viworks_pressure_<resource>_stalled_seconds_total`: the `full` line's total stall time of `resource`.
    public static func pressureStalledSecondsTotal(_ resource: String) -> String { "viworks_pressure_\(resource)_stalled_seconds_total" }

    // MARK: Push outputs (`[outputs.*]`, label `output`)

    /// Rows the output's database acknowledged.
    public static let outputRowsSentTotal = "viworks_output_rows_sent_total"
    /// Failed push attempts (each is retried).
    public static let outputRetriesTotal = "viworks_output_retries_total"
    /// Rows waiting in the outbox.
    public static let outputBacklogRows = "viworks_output_backlog_rows"
    /// Rows dropped from the outbox by its limits.
    public static let outputDroppedRowsTotal = "viworks_output_dropped_rows_total"
    /// 1 when the output is ok, 0 when retrying or failing (absent when disabled).
    public static let outputUp = "viworks_output_up"
}
