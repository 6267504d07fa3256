//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// An error that ends a child on purpose (a refusal, its own request), not a failure: the supervisor does not
/// restart it and reports it as it is, never as a crash loop.
public protocol DeliberateStop: Error, CustomStringConvertible {}

/// When and how soon the ``Supervisor`` restarts a child that failed.
public protocol RestartPolicy: Sendable {
    /// Whether to restart after the `attempt`-th consecutive failure (1-based).
    func shouldRestart(attempt: Int, error: (any Error)?) -> Bool
    /// How long to wait before restart number `attempt` (1-based).
    func backoff(attempt: Int) -> Duration
    /// A child that ran at least this long before failing starts counting attempts from 1 again.
    var stableAfter: Duration { get }
}

/// Exponential backoff with full jitter in [base/2, base], base = initial × 2^(attempt−1), capped.
public struct ExponentialJitterRestartPolicy: RestartPolicy {
    public var initial: Duration
    public var maximum: Duration
    public var maxAttempts: Int
    public var stableAfter: Duration
    /// Source of jitter in 0..<1; tests inject a fixed value.
    public var random: @Sendable () -> Double

    public init(
        initial: Duration = .seconds(1), maximum: Duration = .seconds(60), maxAttempts: Int = 5,
        stableAfter: Duration = .seconds(120), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.initial = initial
        self.maximum = maximum
        self.maxAttempts = maxAttempts
        self.stableAfter = stableAfter
        self.random = random
    }

    public func shouldRestart(attempt: Int, error: (any Error)?) -> Bool { attempt <= maxAttempts }

    public func backoff(attempt: Int) -> Duration {
        let exponent = Double(max(0, min(attempt - 1, 30)))
        let base = min(initial.secondsDouble * pow2(exponent), maximum.secondsDouble)
        let jittered = base / 2 + base / 2 * random()
        return .nanoseconds(Int64(jittered * 1e9))
    }

    private func pow2(_ x: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(x) { result *= 2 }
        return result
    }
}

/// Never restart: the first failure is final.
public struct NeverRestartPolicy: RestartPolicy {
    public init() {}
    public func shouldRestart(attempt: Int, error: (any Error)?) -> Bool { false }
    public func backoff(attempt: Int) -> Duration { .zero }
    public var stableAfter: Duration { .seconds(Int64.max / 2) }
}

extension RestartPolicy where Self == ExponentialJitterRestartPolicy {
    /// Exponential backoff with jitter, see ``ExponentialJitterRestartPolicy``.
    public static func exponentialJitter(
        initial: Duration = .seconds(1), maximum: Duration = .seconds(60), maxAttempts: Int = 5, stableAfter: Duration = .seconds(120)
    ) -> ExponentialJitterRestartPolicy {
        ExponentialJitterRestartPolicy(initial: initial, maximum: maximum, maxAttempts: maxAttempts, stableAfter: stableAfter)
    }
}

extension RestartPolicy where Self == NeverRestartPolicy {
    public static var never: NeverRestartPolicy { NeverRestartPolicy() }
}
