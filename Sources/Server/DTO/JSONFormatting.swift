//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// Rounds to `places` decimals for display (percentages and GiB figures).
func rounded(_ value: Double, _ places: Int = 2) -> Double {
    guard value.isFinite else { return 0 }
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    return (value * scale).rounded() / scale
}

/// Whole seconds (rounded down) of a figure read from the host, nil when it is not finite or does not fit an `Int`:
/// `Int(_:)` would trap on a corrupt `/proc/uptime` such as `1e30`.
func wholeSeconds(_ seconds: Double) -> Int? {
    guard seconds.isFinite, seconds > -9.2e18, seconds < 9.2e18 else { return nil }
    return Int(seconds.rounded(.down))
}

/// Bytes → GiB (2^30 bytes), 2 decimals, as the spec's `*_gb` fields.
func gibibytes(_ bytes: UInt64) -> Double {
    rounded(Double(bytes) / 1_073_741_824.0)
}
