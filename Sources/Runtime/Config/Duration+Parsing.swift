//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

extension Duration {
    /// A number of seconds as a duration: nil unless finite, not negative and below 10^9 s (about 31 years), so that
    /// no value written in a file, the environment or a manifest can overflow the conversion.
    public init?(checkedSeconds seconds: Double) {
        guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return nil }
        self = .nanoseconds(Int64(seconds * 1e9))
    }

    /// Parses Go-style durations, the one parser of every `"30s"`-style text (configuration, manifests, flags, query
    /// parameters): a sequence of `<number><unit>` with units ns, us (µs), ms, s, m, h, d (`"1m30s"`, `"250ms"`); a bare
    /// number is seconds. Nil when malformed, negative or not below 10^9 s.
    public init?(parsing text: String) {
        let trimmed = text.trimmingASCIIWhitespace()
        if let seconds = Double(trimmed) {
            self.init(checkedSeconds: seconds)
            return
        }
        var total: Double = 0
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86_400
            default: return nil
            }
            total += value * scale
        }
        self.init(checkedSeconds: total)
    }
}
