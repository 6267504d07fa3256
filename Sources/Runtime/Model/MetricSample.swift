//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Whether a sample is an instantaneous value or a monotonically increasing count.
public enum MetricKind: String, Sendable, Hashable, Codable {
    /// A value that can go up and down (a percentage, bytes in use, a temperature).
    case gauge
    /// A cumulative count since some start (bytes received since boot); Prometheus `counter`.
    case counter
}

/// One label of a sample, e.g. `interface="eth0"`.
public struct MetricLabel: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One typed measurement, in Prometheus naming conventions.
///
/// `name` is the full metric name (`viworks_cpu_usage_percent`, `viworks_network_receive_bytes_total`);
/// units are in the name (`_bytes`, `_seconds`, `_percent`, `_celsius`) as Prometheus recommends.
public struct MetricSample: Sendable, Hashable {
    public var name: String
    public var kind: MetricKind
    public var value: Double
    public var labels: [MetricLabel]
    /// One line of help text for the exposition; empty when none.
    public var help: String

    public init(_ name: String, _ kind: MetricKind = .gauge, _ value: Double, labels: [MetricLabel] = [], help: String = "") {
        self.name = name
        self.kind = kind
        self.value = value
        self.labels = labels
        self.help = help
    }
}
