//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime

/// A container session as the backend's `container_sessions` table keeps it (the executable maps the session
/// manager's sessions to these, so this module does not depend on the containers module).
public struct SessionRecord: Sendable, Hashable {
    /// 32 hex digits.
    public var sessionID: String
    public var containerID: String?
    public var username: String
    /// The published host port.
    public var port: Int?
    /// `creating`, `running`, `stopped`, `exited`, `oom_killed`, `removed`, `orphaned`.
    public var status: String
    public var createdAt: Timestamp
    public var stoppedAt: Timestamp?

    public init(
        sessionID: String, containerID: String?, username: String, port: Int?, status: String, createdAt: Timestamp, stoppedAt: Timestamp?
    ) {
        self.sessionID = sessionID
        self.containerID = containerID
        self.username = username
        self.port = port
        self.status = status
        self.createdAt = createdAt
        self.stoppedAt = stoppedAt
    }
}
