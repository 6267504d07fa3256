//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// The `alerts` section of `/api/v1/status` and the summary of `/api/v1/alerts`.
struct AlertSummaryDTO: Encodable {
    var summary: AlertSummary

    enum Keys: String, CodingKey { case state, warning, critical, enabled }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.state, summary.state.rawValue)
        try o(.warning, summary.warning)
        try o(.critical, summary.critical)
        try o(.enabled, summary.enabled)
    }
}

struct ActiveAlertDTO: Encodable {
    var alert: ActiveAlert

    enum Keys: String, CodingKey { case rule, subject, severity, value, threshold, since, incident_id }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.rule, alert.rule)
        try o(.subject, alert.subject)
        try o(.severity, alert.severity.rawValue)
        try o(.value, rounded(alert.value))
        try o(.threshold, alert.threshold)
        try o(.since, alert.since.rfc3339)
        try o(.incident_id, alert.incidentID)
    }
}

/// `GET /api/v1/alerts`.
struct AlertsDTO: Encodable {
    var summary: AlertSummary
    var alerts: [ActiveAlert]

    enum Keys: String, CodingKey { case summary, alerts }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.summary, AlertSummaryDTO(summary: summary))
        try o(.alerts, alerts.map(ActiveAlertDTO.init))
    }
}

struct IncidentDTO: Encodable {
    var incident: Incident
    var now: Timestamp

    enum Keys: String, CodingKey {
        case id, rule, subject, severity, started_at, ended_at, duration_seconds, peak_value, peak_at, last_value, threshold, message
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.id, incident.id)
        try o(.rule, incident.rule)
        try o(.subject, incident.subject)
        try o(.severity, incident.severity.rawValue)
        try o(.started_at, incident.startedAt.rfc3339)
        try o(.ended_at, incident.endedAt?.rfc3339)
        try o(.duration_seconds, rounded(incident.durationSeconds(now: now), 3))
        try o(.peak_value, rounded(incident.peakValue))
        try o(.peak_at, incident.peakAt.rfc3339)
        try o(.last_value, rounded(incident.lastValue))
        try o(.threshold, incident.threshold)
        try o(.message, incident.message)
    }
}

/// `GET /api/v1/incidents`.
struct IncidentsDTO: Encodable {
    var from: Timestamp
    var to: Timestamp
    var incidents: [Incident]
    var now: Timestamp

    enum Keys: String, CodingKey { case from, to, count, incidents }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.from, from.rfc3339)
        try o(.to, to.rfc3339)
        try o(.count, incidents.count)
        try o(.incidents, incidents.map { IncidentDTO(incident: $0, now: now) })
    }
}

/// `GET /api/v1/alerts/rules`: `{"enabled", "rules": {"cpu": {"warning", "critical", "warning_clear", "critical_clear"} or null, "memory", "disk",
/// "load" (with `per_core`)}}`; a rule switched off is null.
struct AlertRulesDTO: Encodable {
    var enabled: Bool
    var thresholds: AgentCondition.Thresholds

    enum Keys: String, CodingKey { case enabled, rules }
    enum RuleKeys: String, CodingKey { case cpu, memory, disk, load }

    struct RuleDTO: Encodable {
        var rule: AlertRuleSettings
        var perCore: Bool?

        enum Keys: String, CodingKey { case warning, critical, warning_clear, critical_clear, per_core }

        func encode(to encoder: any Encoder) throws {
            var o = JSONObject(encoder, keyedBy: Keys.self)
            try o(.warning, rule.warning)
            try o(.critical, rule.critical)
            try o(.warning_clear, rounded(rule.effectiveWarningClear, 4))
            try o(.critical_clear, rounded(rule.effectiveCriticalClear, 4))
            if let perCore { try o(.per_core, perCore) }
        }
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.enabled, enabled)
        var rules = JSONObject(o.container.superEncoder(forKey: .rules), keyedBy: RuleKeys.self)
        try rules(.cpu, thresholds.cpu.map { RuleDTO(rule: $0) })
        try rules(.memory, thresholds.memory.map { RuleDTO(rule: $0) })
        try rules(.disk, thresholds.disk.map { RuleDTO(rule: $0) })
        try rules(.load, thresholds.load.map { RuleDTO(rule: $0, perCore: thresholds.loadPerCore) })
    }
}
