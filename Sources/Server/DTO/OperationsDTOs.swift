//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime

/// `POST /api/v1/command` and `GET /api/v1/command/{id}`.
struct CommandRunDTO: Encodable {
    var run: CommandRun

    enum Keys: String, CodingKey {
        case job_id, command, status, argv, started_at, exit_code, signal, duration_seconds, stdout, stderr, stdout_truncated, stderr_truncated, error
        case audit_id, end_audit_id
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        let result = run.result
        try o(.job_id, run.jobID)
        try o(.command, run.command)
        try o(.status, run.status.rawValue)
        try o(.argv, run.argv)
        try o(.started_at, run.startedAt.rfc3339)
        try o(.exit_code, result?.exitCode)
        try o(.signal, result?.signal)
        try o(.duration_seconds, result.map { rounded($0.durationSeconds, 6) })
        try o(.stdout, result.map { JournalReader.text($0.stdout) })
        try o(.stderr, result.map { JournalReader.text($0.stderr) })
        try o(.stdout_truncated, result?.stdoutTruncated)
        try o(.stderr_truncated, result?.stderrTruncated)
        try o(.error, result?.launchError)
        try o(.audit_id, run.auditID)
        try o(.end_audit_id, run.endAuditID)
    }
}

/// `GET /api/v1/commands`: the allowlist.
struct CommandsDTO: Encodable {
    var definitions: [CommandDefinition]

    enum Keys: String, CodingKey { case commands }
    enum CommandKeys: String, CodingKey { case id, summary, executable, arguments, parameters, optional, timeout_seconds, max_output_bytes, user, group }

    struct Command: Encodable {
        var definition: CommandDefinition
        func encode(to encoder: any Encoder) throws {
            var o = JSONObject(encoder, keyedBy: CommandKeys.self)
            try o(.id, definition.id)
            try o(.summary, definition.summary)
            try o(.executable, definition.executable)
            try o(.arguments, definition.arguments)
            try o(.parameters, definition.parameters.mapValues(\.description))
            try o(.optional, definition.optional.sorted())
            try o(.timeout_seconds, definition.timeout.secondsDouble)
            try o(.max_output_bytes, definition.maxOutputBytes)
            try o(.user, definition.user)
            try o(.group, definition.group)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.commands, definitions.map(Command.init))
    }
}

/// `POST /api/v1/services/{name}/start|stop|restart`.
struct ServiceActionDTO: Encodable {
    var result: ServiceActionResult

    enum Keys: String, CodingKey { case service, unit, action, job, active_state, sub_state, pid, completed, duration_seconds, audit_id }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.service, result.service)
        try o(.unit, result.unit)
        try o(.action, result.action.rawValue)
        try o(.job, result.job)
        try o(.active_state, result.activeState)
        try o(.sub_state, result.subState)
        try o(.pid, result.mainPID)
        try o(.completed, result.completed)
        try o(.duration_seconds, rounded(result.durationSeconds, 6))
        try o(.audit_id, result.auditID)
    }
}

/// `GET /api/v1/audit`.
struct AuditDTO: Encodable {
    var records: [AuditRecord]
    var verification: AuditVerification?

    enum Keys: String, CodingKey { case records, verification }
    enum RecordKeys: String, CodingKey {
        case id, time, event, principal, role, client_address, request_id, action, argv, parameters, outcome, exit_code, duration_seconds, output_sha256
        case start_id, previous_hash, hash
    }
    enum VerificationKeys: String, CodingKey { case intact, records, first_bad_record, problem }

    struct Record: Encodable {
        var record: AuditRecord
        func encode(to encoder: any Encoder) throws {
            var o = JSONObject(encoder, keyedBy: RecordKeys.self)
            try o(.id, record.id)
            try o(.time, record.time.rfc3339)
            try o(.event, record.event)
            try o(.principal, record.principal)
            try o(.role, record.role)
            try o(.client_address, record.clientAddress)
            try o(.request_id, record.requestID)
            try o(.action, record.action)
            try o(.argv, record.argv)
            try o(.parameters, record.parameters)
            try o(.outcome, record.outcome)
            try o(.exit_code, record.exitCode)
            try o(.duration_seconds, record.durationSeconds.map { rounded($0, 6) })
            try o(.output_sha256, record.outputSHA256)
            try o(.start_id, record.startID)
            try o(.previous_hash, record.previousHash)
            try o(.hash, record.hash)
        }
    }

    struct Verification: Encodable {
        var verification: AuditVerification
        func encode(to encoder: any Encoder) throws {
            var o = JSONObject(encoder, keyedBy: VerificationKeys.self)
            try o(.intact, verification.isIntact)
            try o(.records, verification.records)
            try o(.first_bad_record, verification.firstBadRecord)
            try o(.problem, verification.problem ?? verification.anchorProblem)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.records, records.map(Record.init))
        try o(.verification, verification.map(Verification.init))
    }
}

/// One journal entry of `GET /api/v1/logs`.
struct JournalEntryDTO: Encodable {
    var entry: JournalEntry

    enum Keys: String, CodingKey { case time, unit, priority, pid, identifier, message, cursor }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.time, entry.time.rfc3339)
        try o(.unit, entry.unit)
        try o(.priority, entry.priority)
        try o(.pid, entry.pid)
        try o(.identifier, entry.identifier)
        try o(.message, entry.message)
        try o(.cursor, entry.cursor)
    }
}

/// `GET /api/v1/logs`.
struct LogsDTO: Encodable {
    var units: [String]
    var entries: [JournalEntry]

    enum Keys: String, CodingKey { case units, entries }

    func encode(to encoder: any Encoder) throws {
        var o = JSONObject(encoder, keyedBy: Keys.self)
        try o(.units, units)
        try o(.entries, entries.map(JournalEntryDTO.init))
    }
}
