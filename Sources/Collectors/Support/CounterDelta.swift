//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Differences and rates of cumulative kernel counters.
///
/// Kernel counters only go up, except when they do not: an interface is recreated (reset to 0),
/// a 32-bit driver counter wraps, a CPU comes back from offline, or `iowait` is re-estimated
/// downwards. These helpers never turn such a step backwards into a huge positive spike.
enum CounterDelta {
    /// `current − previous`, or nil when the counter went backwards (reset or wrap).
    static func delta(from previous: UInt64, to current: UInt64) -> UInt64? {
        current >= previous ? current - previous : nil
    }

    /// `current − previous`, clamped at 0 when the counter went backwards.
    static func clamped(from previous: UInt64, to current: UInt64) -> UInt64 {
        current >= previous ? current - previous : 0
    }

    /// Per-second rate of a counter between two readings `seconds` apart; nil when the counter went
    /// backwards or when no time elapsed (a rate over 0 s is meaningless).
    static func rate(from previous: UInt64, to current: UInt64, over seconds: Double) -> Double? {
        guard seconds > 0, seconds.isFinite, let delta = delta(from: previous, to: current) else { return nil }
        return Double(delta) / seconds
    }
}

/// Rounds to 2 decimals, the precision of every percentage in the reports.
func roundedTo2(_ value: Double) -> Double {
    guard value.isFinite else { return 0 }
    return (value * 100).rounded() / 100
}

/// `part / whole × 100`, clamped to 0…100 and rounded to 2 decimals; 0 when `whole` is 0.
func percent(_ part: Double, of whole: Double) -> Double {
    guard whole > 0, part.isFinite, whole.isFinite else { return 0 }
    return roundedTo2(min(max(part / whole * 100, 0), 100))
}
