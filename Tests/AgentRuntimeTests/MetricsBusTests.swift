//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Testing

struct MetricsBusTests {
    func batch(_ n: Int) -> MetricBatch {
        MetricBatch(source: "s", timestamp: Timestamp(nanosecondsSinceEpoch: Int64(n)), samples: [MetricSample("n", .gauge, Double(n))])
    }

    @Test func everySubscriberGetsEveryBatchInOrder() async {
        let bus = MetricsBus()
        let a = await bus.subscribe(name: "a", bufferingNewest: 10)
        let b = await bus.subscribe(name: "b", bufferingNewest: 10)
        for n in 1...5 { await bus.publish(batch(n)) }
        await bus.finish()
        var seenA: [Double] = []
        for await item in a { seenA.append(item.samples[0].value) }
        var seenB: [Double] = []
        for await item in b { seenB.append(item.samples[0].value) }
        #expect(seenA == [1, 2, 3, 4, 5])
        #expect(seenB == [1, 2, 3, 4, 5])
        #expect(await bus.publishedCount() == 5)
        #expect(await bus.dropCounts().values.reduce(0, +) == 0)
    }

    @Test func aSlowSubscriberKeepsTheNewestAndCountsDrops() async {
        let bus = MetricsBus()
        let slow = await bus.subscribe(name: "slow", bufferingNewest: 3)
        let fast = await bus.subscribe(name: "fast", bufferingNewest: 100)
        for n in 1...10 { await bus.publish(batch(n)) }
        #expect(await bus.dropCounts() == ["slow": 7, "fast": 0])
        await bus.finish()
        var kept: [Double] = []
        for await item in slow { kept.append(item.samples[0].value) }
        #expect(kept == [8, 9, 10])
        var all = 0
        for await _ in fast { all += 1 }
        #expect(all == 10)
    }

    @Test func publishingNeverWaitsForASubscriber() async {
        let bus = MetricsBus()
        // Nobody reads this stream: 10 000 publishes must still complete at once.
        let idle = await bus.subscribe(name: "idle", bufferingNewest: 1)
        for n in 0..<10_000 { await bus.publish(batch(n)) }
        #expect(await bus.dropCounts()["idle"] == 9_999)
        _ = idle
    }
}
