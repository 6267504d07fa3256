//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import Prometheus

/// Renders samples as Prometheus text exposition format 0.0.4 through swift-prometheus.
///
/// The registry treats a name registered twice with different types, help texts or label shapes as a
/// programming error and stops the process. Samples come from plugins too, so they are checked first:
/// the first sample of a name fixes its kind, help and label names; a later sample that disagrees is
/// rejected and counted (``Result/rejected``), never fatal.
public enum PrometheusExposition {
    public struct Result: Sendable {
        public var text: [UInt8]
        /// Samples left out, with the reason, e.g. `viworks_x: kind counter conflicts with gauge`.
        public var rejected: [String]
    }

    public static func render(_ samples: [MetricSample]) -> Result {
        struct Family {
            var kind: MetricKind
            var labelNames: [String]
            var help: String
        }
        let registry = PrometheusCollectorRegistry()
        var families: [String: Family] = [:]
        var seen: Set<MetricSample.SeriesKey> = []
        var rejected: [String] = []
        for sample in samples {
            guard isValidMetricName(sample.name) else {
                rejected.append("\(sample.name): invalid metric name")
                continue
            }
            var labels: [(String, String)] = []
            var names: Set<String> = []
            var badLabel: String?
            for label in sample.labels {
                guard isValidLabelName(label.name), !label.name.hasPrefix("__") else {
                    badLabel = label.name
                    break
                }
                if names.insert(label.name).inserted { labels.append((label.name, label.value)) }
            }
            if let badLabel {
                rejected.append("\(sample.name): invalid label name \(badLabel)")
                continue
            }
            let labelNames = labels.map(\.0).sorted()
            if let family = families[sample.name] {
                guard family.kind == sample.kind else {
                    rejected.append("\(sample.name): kind \(sample.kind.rawValue) conflicts with \(family.kind.rawValue)")
                    continue
                }
                guard family.labelNames == labelNames else {
                    rejected.append("\(sample.name): label names \(labelNames) conflict with \(family.labelNames)")
                    continue
                }
            } else {
                families[sample.name] = Family(kind: sample.kind, labelNames: labelNames, help: sample.help)
            }
            guard seen.insert(MetricSample.SeriesKey(sample)).inserted else {
                rejected.append("\(sample.name): duplicate series")
                continue
            }
            // swift-prometheus requires one help text per family: the first sample's wins.
            let help = families[sample.name]?.help ?? sample.help
            switch sample.kind {
            case .gauge:
                let gauge = labels.isEmpty ? registry.makeGauge(name: sample.name, help: help) : registry.makeGauge(name: sample.name, labels: labels, help: help)
                gauge.set(sample.value)
            case .counter:
                let counter =
                    labels.isEmpty ? registry.makeCounter(name: sample.name, help: help) : registry.makeCounter(name: sample.name, labels: labels, help: help)
                if sample.value.isFinite, sample.value >= 0 {
                    counter.increment(by: sample.value)
                }
            }
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(samples.count * 96)
        registry.emit(into: &buffer)
        return Result(text: inStableOrder(buffer), rejected: rejected)
    }

    /// The exposition with its families sorted by name and each family's series sorted, so that two scrapes of the
    /// same figures are byte-identical (the registry emits in hash-table order, which changes from one registry to
    /// the next). A family is its `# HELP`/`# TYPE` lines and the sample lines that follow them.
    static func inStableOrder(_ text: [UInt8]) -> [UInt8] {
        struct Block {
            var name: ArraySlice<UInt8>
            var comments: [ArraySlice<UInt8>] = []
            var series: [ArraySlice<UInt8>] = []
        }
        let newline = UInt8(ascii: "\n")
        var blocks: [Block] = []
        for line in text.split(separator: newline, omittingEmptySubsequences: true) {
            if line.first == UInt8(ascii: "#") {
                // `# HELP name …` or `# TYPE name …`: the third field is the family's name.
                let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: true)
                let name = fields.count > 2 ? fields[2] : line
                if blocks.last.map({ $0.name.elementsEqual(name) && $0.series.isEmpty }) != true {
                    blocks.append(Block(name: name))
                }
                blocks[blocks.count - 1].comments.append(line)
            } else if blocks.isEmpty {
                blocks.append(Block(name: line, series: [line]))
            } else {
                blocks[blocks.count - 1].series.append(line)
            }
        }
        blocks.sort { $0.name.lexicographicallyPrecedes($1.name) }
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        for block in blocks {
            for line in block.comments {
                out.append(contentsOf: line)
                out.append(newline)
            }
            for line in block.series.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                out.append(contentsOf: line)
                out.append(newline)
            }
        }
        return out
    }

    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(0x30...0x39).contains(first) else { return false }
        return name.utf8.allSatisfy { isAlnum($0) || $0 == 0x5F || $0 == 0x3A }
    }

    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(0x30...0x39).contains(first) else { return false }
        return name.utf8.allSatisfy { isAlnum($0) || $0 == 0x5F }
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
    }
}

extension MetricSample {
    /// A sample's identity: name and label set.
    struct SeriesKey: Hashable {
        var name: String
        var labels: [MetricLabel]
        init(_ sample: MetricSample) {
            name = sample.name
            labels = sample.labels.sorted { $0.name < $1.name }
        }
    }
}
