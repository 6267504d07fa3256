//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import HTTPTypes

/// Who may call a route: anyone the address allowlist lets in, or a credential with at least a role.
public enum RouteAccess: Sendable, Hashable, Comparable {
    case `public`
    case viewer
    case `operator`
    case admin

    /// The least role needed; nil for a public route.
    public var role: AccessRole? {
        switch self {
        case .public: nil
        case .viewer: .viewer
        case .operator: .operator
        case .admin: .admin
        }
    }
}

/// Every route of the API in one table: the router, the OpenAPI document test and the README are
/// checked against it, so a route cannot be added without being documented.
public struct RouteDescription: Sendable, Hashable {
    public var method: HTTPRequest.Method
    public var path: String
    public var summary: String
    /// The least role needed (README "Security" and the OpenAPI `security` of the operation follow it).
    public var access: RouteAccess

    /// - Parameter access: nil means `viewer` for GET and `admin` for any other method.
    public init(_ method: HTTPRequest.Method, _ path: String, _ summary: String, access: RouteAccess? = nil) {
        self.method = method
        self.path = path
        self.summary = summary
        self.access = access ?? (method == .get ? .viewer : .admin)
    }
}

public enum RouteTable {
    public static let routes: [RouteDescription] = [
        RouteDescription(.get, "/api/v1/health", "Agent health for load balancers and systemd-style checks", access: .public),
        RouteDescription(.get, "/api/v1/status", "Full status: system_health, services, containers, system_info, collectors"),
        RouteDescription(.get, "/api/v1/status-simple", "Overall status and the headline percentages, for cheap polls"),
        RouteDescription(.get, "/api/v1/system", "System information alone (cpu, memory, network, system, disks, temperatures)"),
        RouteDescription(.get, "/api/v1/services", "Every tracked service: state, main PID, unit, CPU, memory, probe"),
        RouteDescription(.get, "/api/v1/services/{name}", "One tracked service"),
        RouteDescription(.post, "/api/v1/services/{name}/start", "Start a tracked service's unit through systemd (audited)",
            access: .operator),
        RouteDescription(.post, "/api/v1/services/{name}/stop", "Stop a tracked service's unit through systemd (audited)",
            access: .operator),
        RouteDescription(.post, "/api/v1/services/{name}/restart", "Restart a tracked service's unit through systemd (audited)",
            access: .operator),
        RouteDescription(.post, "/api/v1/command", "Run an allowlisted command by id with validated parameters (audited before it runs)",
            access: .admin),
        RouteDescription(.get, "/api/v1/command/{id}", "The result of a command job (202 while it runs)", access: .admin),
        RouteDescription(.get, "/api/v1/commands", "The command allowlist: ids, argv templates, parameter types",
            access: .operator),
        RouteDescription(.get, "/api/v1/audit", "The audit log: every command and service action, hash-chained", access: .admin),
        RouteDescription(.get, "/api/v1/logs", "Journal entries of allowlisted units; follow=true streams Server-Sent Events",
            access: .operator),
        RouteDescription(.get, "/api/v1/processes", "Process counts by state and the top processes by CPU and by memory"),
        RouteDescription(.get, "/api/v1/collectors", "Supervisor view of every collector"),
        RouteDescription(.get, "/api/v1/plugins", "Every plugin of plugins.d: state, restarts, bad lines by reason, samples; manifests that did not load"),
        RouteDescription(.get, "/api/v1/plugins/{name}", "One plugin in detail"),
        RouteDescription(.post, "/api/v1/plugins/{name}/enable", "Start a disabled plugin again (after a crash loop, a refusal or its own request)",
            access: .operator),
        RouteDescription(.post, "/api/v1/plugins/reload", "Rescan plugins.d: start added plugins, stop removed ones, restart changed ones",
            access: .operator),
        RouteDescription(.get, "/api/v1/metrics", "Every stored history series with its labels"),
        RouteDescription(.get, "/api/v1/metrics/{name}/history", "History of one metric: raw points or buckets (from, to, step, agg), tier chosen automatically"),
        RouteDescription(.get, "/api/v1/history/status", "The status headline fields (cpu, memory, disk, load, temperature) over time"),
        RouteDescription(.get, "/api/v1/alerts", "Active alerts (not ok) and the alert summary"),
        RouteDescription(.get, "/api/v1/incidents", "Alert incidents (start, peak, end, duration) overlapping from..to"),
        RouteDescription(.get, "/api/v1/reports/{period}", "Daily, weekly or monthly report: headline min/avg/p95/max, incidents, service availability"),
        RouteDescription(.get, "/api/v1/openapi.json", "This API's OpenAPI 3.1 document"),
        RouteDescription(.get, "/metrics", "Prometheus text exposition 0.0.4 of everything collected and of the agent itself"),
    ]
}

extension RouteTable {
    /// The `Allow` value of a path the API serves without parameters (`GET, HEAD, OPTIONS`), or nil for other paths.
    public static func allowedMethods(forPath path: String) -> String? {
        let methods = routes.filter { $0.path == path }.map(\.method)
        guard !methods.isEmpty else { return nil }
        return (methods + (methods.contains(.get) ? [.head] : []) + [.options]).map(\.rawValue).joined(separator: ", ")
    }
}
