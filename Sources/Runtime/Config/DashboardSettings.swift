//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// `[dashboard]`: the web dashboard the agent serves at `/` (static files embedded in the binary).
public struct DashboardSettings: Sendable, Hashable {
    /// `enabled`: false answers 404 on `/` and `/assets/…`; the API is unaffected.
    public var enabled = true

    public init() {}
}

/// `[stream]`: `GET /api/v1/stream`, the Server-Sent Events stream of status snapshots (dashboards and backends).
public struct StreamSettings: Sendable, Hashable {
    /// `max_clients`: streams open at once; one more is refused with 429 `too_many_streams`.
    public var maxClients = 32
    /// `keepalive`: a comment line is written to every stream this often, so proxies and clients see a live connection
    /// and a client that left is noticed (its write fails).
    public var keepAlive: Duration = .seconds(15)

    public init() {}
}

extension DashboardSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .bool("enabled", \.enabled)
    ]
}

extension StreamSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .int("max_clients", \.maxClients, in: 1...10_000),
        .duration("keepalive", \.keepAlive, min: .milliseconds(100), max: "1h"),
    ]
}
