//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// One collection's results, as carried on the ``MetricsBus``.
public struct MetricBatch: Sendable {
    /// The collector (or plugin) id that produced it.
    public var source: String
    public var timestamp: Timestamp
    public var samples: [MetricSample]
    /// The typed report of a built-in collector; nil for plugins and self-metrics.
    public var report: CollectorReport?

    public init(source: String, timestamp: Timestamp, samples: [MetricSample], report: CollectorReport? = nil) {
        self.source = source
        self.timestamp = timestamp
        self.samples = samples
        self.report = report
    }
}
