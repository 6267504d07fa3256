//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// Temperatures from `/sys/class/hwmon/hwmon*/temp*_input` and `/sys/class/thermal/thermal_zone*/temp`.
///
/// A sensor whose file cannot be read (EIO, EISDIR, gone) or does not hold an integer is left out,
/// never reported as 0. A host without sensors (most VMs) gets an empty report and a nil CPU
/// temperature, not an error.
public struct TemperatureCollector: Collector {
    public let descriptor = CollectorDescriptor(
        id: "temperature", isCore: false,
        reads: ["class/hwmon/*", "class/hwmon/*/device"].flatMap { chip in ["name", "temp*_input", "temp*_label"].map { HostRead.sys(chip + "/" + $0) } }
            + [.sys("class/thermal/thermal_zone*/temp"), .sys("class/thermal/thermal_zone*/type")])

    public init() {}

    /// A sensor and the sysfs directory it was read from (`hwmon3`, `thermal_zone0`).
    struct Reading {
        var sensor: TemperatureSensor
        var directory: String
    }

    public func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let readings = Self.readHwmon(context.paths) + Self.readThermal(context.paths)
        let sensors = readings.map(\.sensor)
        let cpu = sensors.filter(\.cpu).map(\.celsius).max()
        let report = TemperatureReport(sensors: sensors, cpuCelsius: cpu)
        return CollectorOutput(samples: Self.samples(readings, cpuCelsius: cpu), report: .temperature(report))
    }

    static func readHwmon(_ paths: HostPaths) -> [Reading] {
        let base = paths.sys("class/hwmon")
        guard let chips = try? HostFile.list(base) else { return [] }
        var readings: [Reading] = []
        for chip in chips.filter({ $0.hasPrefix("hwmon") }).sorted(by: TemperatureParser.naturalOrder) {
            let directory = base + "/" + chip
            // Old kernels keep the attributes in the `device/` subdirectory.
            let candidates = [directory, directory + "/device"]
            let name = candidates.lazy.compactMap { HostFile.readLine($0 + "/name") }.first ?? chip
            for attributes in candidates {
                guard let files = try? HostFile.list(attributes) else { continue }
                let inputs = files.filter { $0.hasPrefix("temp") && $0.hasSuffix("_input") }.sorted(by: TemperatureParser.naturalOrder)
                for input in inputs {
                    guard let text = HostFile.readIfPresent(attributes + "/" + input, limit: 256),
                        let celsius = TemperatureParser.celsius(millidegrees: text)
                    else { continue }
                    let sensorName = String(input.dropLast("_input".count))
                    let label = HostFile.readLine(attributes + "/" + sensorName + "_label") ?? sensorName
                    readings.append(
                        Reading(
                            sensor: TemperatureSensor(
                                source: "hwmon", chip: name, label: label, celsius: celsius, cpu: TemperatureParser.isCPUChip(name)),
                            directory: chip))
                }
                if !inputs.isEmpty { break }
            }
        }
        return readings
    }

    static func readThermal(_ paths: HostPaths) -> [Reading] {
        let base = paths.sys("class/thermal")
        guard let entries = try? HostFile.list(base) else { return [] }
        var readings: [Reading] = []
        for zone in entries.filter({ $0.hasPrefix("thermal_zone") }).sorted(by: TemperatureParser.naturalOrder) {
            let directory = base + "/" + zone
            guard let text = HostFile.readIfPresent(directory + "/temp", limit: 256),
                let celsius = TemperatureParser.celsius(millidegrees: text)
            else { continue }
            let type = HostFile.readLine(directory + "/type") ?? zone
            readings.append(
                Reading(
                    sensor: TemperatureSensor(source: "thermal", chip: type, label: zone, celsius: celsius, cpu: TemperatureParser.isCPUZone(type)),
                    directory: zone))
        }
        return readings
    }

    /// Two chips with the same name (a two-socket `coretemp`) would give identical label sets; the
    /// repeated ones get the hwmon directory appended to `chip` (`coretemp.hwmon3`).
    static func samples(_ readings: [Reading], cpuCelsius: Double?) -> [MetricSample] {
        var samples: [MetricSample] = []
        var seen: Set<[String]> = []
        for reading in readings {
            let sensor = reading.sensor
            if sensor.source == "hwmon" {
                var chip = sensor.chip
                if !seen.insert([chip, sensor.label]).inserted {
                    chip = "\(sensor.chip).\(reading.directory)"
                }
                samples.append(
                    MetricSample(
                        MetricName.hwmonTempCelsius, .gauge, sensor.celsius, labels: [MetricLabel("chip", chip), MetricLabel("sensor", sensor.label)],
                        help: "Temperature of an hwmon sensor in degrees Celsius."))
            } else {
                samples.append(
                    MetricSample(
                        MetricName.thermalZoneTempCelsius, .gauge, sensor.celsius,
                        labels: [MetricLabel("zone", sensor.label), MetricLabel("type", sensor.chip)],
                        help: "Temperature of a thermal zone in degrees Celsius."))
            }
        }
        if let cpuCelsius {
            samples.append(
                MetricSample(MetricName.cpuTemperatureCelsius, .gauge, cpuCelsius, help: "Hottest CPU sensor in degrees Celsius."))
        }
        return samples
    }
}
