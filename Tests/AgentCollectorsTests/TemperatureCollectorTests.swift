//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import Testing

@Suite("temperature")
struct TemperatureCollectorTests {
    @Test func millidegrees() {
        #expect(TemperatureParser.celsius(millidegrees: "45000\n") == 45)
        #expect(TemperatureParser.celsius(millidegrees: "38850") == 38.85)
        #expect(TemperatureParser.celsius(millidegrees: "-5000\n") == -5)
        #expect(TemperatureParser.celsius(millidegrees: "N/A\n") == nil)
        #expect(TemperatureParser.celsius(millidegrees: "") == nil)
        #expect(TemperatureParser.celsius(millidegrees: "45.5") == nil)
    }

    @Test func cpuHeuristics() {
        for chip in ["coretemp", "k10temp", "zenpower", "cpu_thermal", "soc_thermal", "k8temp", "via_cputemp"] {
            #expect(TemperatureParser.isCPUChip(chip), "\(chip)")
        }
        for chip in ["acpitz", "nvme", "iwlwifi_1", "amdgpu", "drivetemp"] {
            #expect(!TemperatureParser.isCPUChip(chip), "\(chip)")
        }
        for zone in ["x86_pkg_temp", "cpu-thermal", "cpu0-thermal", "soc_thermal", "soc-thermal", "mtktscpu", "CPU"] {
            #expect(TemperatureParser.isCPUZone(zone), "\(zone)")
        }
        for zone in ["acpitz", "iwlwifi_1", "INT3400 Thermal", "gpu-thermal", "pch_cannonlake"] {
            #expect(!TemperatureParser.isCPUZone(zone), "\(zone)")
        }
    }

    @Test func unreadableSensorsAreOmittedBesideReadableOnes() async throws {
        let output = try await TemperatureCollector().collect(Fixtures.context(Fixtures.host("intel-laptop-coretemp")))
        let report = try #require(output.temperature)
        // hwmon10 ("N/A"), thermal_zone2 (temp is a directory: EISDIR) and thermal_zone3 (no temp) are absent, not 0.
        #expect(
            report.sensors == [
                TemperatureSensor(source: "hwmon", chip: "acpitz", label: "temp1", celsius: 27.8, cpu: false),
                TemperatureSensor(source: "hwmon", chip: "coretemp", label: "Package id 0", celsius: 52, cpu: true),
                TemperatureSensor(source: "hwmon", chip: "coretemp", label: "Core 0", celsius: 49, cpu: true),
                TemperatureSensor(source: "hwmon", chip: "coretemp", label: "Core 1", celsius: 51, cpu: true),
                TemperatureSensor(source: "hwmon", chip: "nvme", label: "Composite", celsius: 38.85, cpu: false),
                TemperatureSensor(source: "thermal", chip: "acpitz", label: "thermal_zone0", celsius: 27.8, cpu: false),
                TemperatureSensor(source: "thermal", chip: "x86_pkg_temp", label: "thermal_zone1", celsius: 53, cpu: true),
            ])
        // Hottest CPU sensor: x86_pkg_temp 53 °C (coretemp's hottest is 52).
        #expect(report.cpuCelsius == 53)
        #expect(output.value("viworks_cpu_temperature_celsius") == 53)
        #expect(output.value("viworks_hwmon_temp_celsius", ["chip": "coretemp", "sensor": "Core 1"]) == 51)
        #expect(output.value("viworks_thermal_zone_temp_celsius", ["zone": "thermal_zone1", "type": "x86_pkg_temp"]) == 53)
        #expect(output.value("viworks_thermal_zone_temp_celsius", ["zone": "thermal_zone2"]) == nil)
        #expect(output.value("viworks_hwmon_temp_celsius", ["chip": "iwlwifi_1"]) == nil)
        #expect(output.samples.count == 8)
        expectWellFormed(output)
    }

    @Test func noSensorsIsAnEmptyReportNotAnError() async throws {
        // This VM: no hwmon directory, an empty /sys/class/thermal.
        let output = try await TemperatureCollector().collect(Fixtures.context(Fixtures.host("debian12-amd-epyc-vm")))
        #expect(output.temperature == TemperatureReport(sensors: [], cpuCelsius: nil))
        #expect(output.samples.isEmpty)
        // A tree without /sys at all.
        let bare = try await TemperatureCollector().collect(Fixtures.context(Fixtures.host("centos6-kernel-2.6.32")))
        #expect(bare.temperature?.sensors == [])
    }
}
