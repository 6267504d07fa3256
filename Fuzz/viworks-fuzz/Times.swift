//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// Time and duration parsing: `Duration(parsing:)` (configuration, manifests, flags, query parameters) and
/// `Timestamp(parameter:)` / `Timestamp(rfc3339:)` (query parameters, stored records).
///
/// Invariants: a parsed duration is within 0…10^9 s, and its number of nanoseconds written out (`…ns`) parses back to it
/// (within 1 µs: the parser computes in Double seconds); a parsed time is within the accepted range, and its RFC 3339 text
/// parses back to the same nanosecond, both as RFC 3339 and as a parameter.
struct TimeTarget: FuzzTarget {
    func run(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        if let duration = Duration(parsing: text) {
            guard duration >= .zero, duration < .seconds(1_000_000_000) else { fatalError("duration \(duration) from \(text.debugDescription)") }
            let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
            guard let again = Duration(parsing: "\(nanoseconds)ns") else { fatalError("\(nanoseconds)ns does not parse (from \(text.debugDescription))") }
            let difference = again > duration ? again - duration : duration - again
            guard difference <= .microseconds(1) else { fatalError("\(text.debugDescription) → \(duration) → \(nanoseconds)ns → \(again)") }
        }
        if let time = Timestamp(parameter: text) {
            guard Timestamp.acceptedRange.contains(time) else { fatalError("time \(time) outside the accepted range") }
            roundTrip(time, text)
        }
        if let time = Timestamp(rfc3339: text) { roundTrip(time, text) }
    }

    func roundTrip(_ time: Timestamp, _ text: String) {
        let written = time.rfc3339
        guard Timestamp(rfc3339: written) == time else { fatalError("\(text.debugDescription) → \(written) does not parse back") }
        if Timestamp.acceptedRange.contains(time), Timestamp(parameter: written) != time {
            fatalError("\(text.debugDescription) → \(written) does not parse back as a parameter")
        }
    }
}
