//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import Synchronization

/// A token bucket per client: `limit` requests of burst, refilled at `limit` per minute.
///
/// The table holds at most `maxClients` buckets; when it is full, the least recently seen eighth is forgotten
/// (a forgotten client starts again with a full bucket, which is what an idle client has anyway).
public final class RateLimiter: Sendable {
    /// The outcome of one request.
    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        /// The bucket size (requests per minute).
        public var limit: Int
        /// Requests left right now.
        public var remaining: Int
        /// Seconds until the bucket is full again.
        public var resetSeconds: Int
        /// When refused: whole seconds until one request is allowed.
        public var retryAfterSeconds: Int
    }

    struct Bucket {
        var tokens: Double
        var updated: Double
        var lastUse: UInt64
    }

    struct State {
        var buckets: [String: Bucket] = [:]
        var uses: UInt64 = 0
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Double
    public let maxClients: Int

    /// - Parameters:
    ///   - maxClients: buckets kept at most.
    ///   - now: monotonic seconds (injected by tests).
    public init(maxClients: Int, now: @escaping @Sendable () -> Double) {
        self.maxClients = max(16, maxClients)
        self.now = now
    }

    public var clientCount: Int { state.withLock { $0.buckets.count } }

    /// Takes one token from `client`'s bucket of `limit` per minute.
    public func acquire(client: String, limit: Int) -> Decision {
        let now = self.now()
        let capacity = Double(limit)
        let rate = capacity / 60
        return state.withLock { state in
            state.uses &+= 1
            var bucket: Bucket
            if let existing = state.buckets[client] {
                bucket = existing
                bucket.tokens = min(capacity, bucket.tokens + max(0, now - bucket.updated) * rate)
            } else {
                if state.buckets.count >= maxClients { Self.evict(&state, keeping: maxClients - maxClients / 8) }
                bucket = Bucket(tokens: capacity, updated: now, lastUse: 0)
            }
            bucket.updated = now
            bucket.lastUse = state.uses
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            state.buckets[client] = bucket
            let reset = Int(((capacity - bucket.tokens) / rate).rounded(.up))
            let retry = allowed ? 0 : max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
            return Decision(allowed: allowed, limit: limit, remaining: Int(bucket.tokens.rounded(.down)), resetSeconds: reset, retryAfterSeconds: retry)
        }
    }

    /// Drops the least recently used buckets until `keeping` are left.
    private static func evict(_ state: inout State, keeping: Int) {
        let excess = state.buckets.count - keeping
        guard excess > 0 else { return }
        let oldest = state.buckets.map { ($0.key, $0.value.lastUse) }.sorted { $0.1 < $1.1 }.prefix(excess)
        for (key, _) in oldest { state.buckets.removeValue(forKey: key) }
    }
}
