//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Fans collected batches out to subscribers (snapshot store, exporters, history, alerts, live streams).
///
/// Each subscriber gets its own bounded `AsyncStream`; a slow subscriber loses its oldest
/// buffered batches (counted in ``dropCounts()``) and never blocks a collector.
///
/// ```swift
/// let stream = await bus.subscribe(name: "snapshot", bufferingNewest: 64)
/// for await batch in stream { store.apply(batch) }
/// ```
public actor MetricsBus {
    private struct Subscriber {
        var name: String
        var continuation: AsyncStream<MetricBatch>.Continuation
        var delivered: UInt64 = 0
        var dropped: UInt64 = 0
    }

    private var subscribers: [Int: Subscriber] = [:]
    private var nextID = 0
    private var published: UInt64 = 0
    /// Drops of subscribers that have gone, so the total never goes backwards.
    private var droppedByGoneSubscribers: UInt64 = 0

    public init() {}

    /// A new subscription that keeps at most `limit` undelivered batches (the newest).
    /// - Parameters:
    ///   - name: shown in drop counts and `/metrics` (`subscriber` label).
    ///   - limit: buffered batches before the oldest is dropped; at least 1.
    public func subscribe(name: String, bufferingNewest limit: Int = 128) -> AsyncStream<MetricBatch> {
        let id = nextID
        nextID += 1
        let (stream, continuation) = AsyncStream.makeStream(of: MetricBatch.self, bufferingPolicy: .bufferingNewest(max(1, limit)))
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            Task { await self.remove(id) }
        }
        subscribers[id] = Subscriber(name: name, continuation: continuation)
        return stream
    }

    /// Delivers `batch` to every subscriber without waiting for any of them.
    public func publish(_ batch: MetricBatch) {
        published += 1
        for id in subscribers.keys {
            guard let continuation = subscribers[id]?.continuation else { continue }
            switch continuation.yield(batch) {
            case .enqueued:
                subscribers[id]?.delivered += 1
            case .dropped:
                // bufferingNewest enqueues the new batch and drops the oldest one.
                subscribers[id]?.delivered += 1
                subscribers[id]?.dropped += 1
            case .terminated:
                remove(id)
            @unknown default:
                break
            }
        }
    }

    /// Batches published since start.
    public func publishedCount() -> UInt64 { published }

    /// Dropped batches per live subscriber name, plus `"(gone)"` for subscribers that have ended.
    public func dropCounts() -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for subscriber in subscribers.values { result[subscriber.name, default: 0] += subscriber.dropped }
        if droppedByGoneSubscribers > 0 { result["(gone)"] = droppedByGoneSubscribers }
        return result
    }

    /// Ends every subscription (their `for await` loops finish).
    public func finish() {
        for subscriber in subscribers.values { subscriber.continuation.finish() }
    }

    private func remove(_ id: Int) {
        if let gone = subscribers.removeValue(forKey: id) { droppedByGoneSubscribers += gone.dropped }
    }
}
