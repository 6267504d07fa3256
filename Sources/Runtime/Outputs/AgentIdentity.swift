//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import Crypto

/// The id an agent writes into the `agent_id` column of the backend's tables (`/api/v1/system` shows it).
public enum AgentIdentity {
    /// The schema's `agent_id VARCHAR(50)`.
    public static let maximumLength = 50

    /// `[outputs.postgresql] agent_id` when set; else 32 hex digits derived from `/etc/machine-id` under `paths.rootfs`
    /// (HMAC-SHA256 keyed by the machine id over the agent's name, first 16 bytes, as systemd derives application-specific
    /// ids: stable across restarts and reinstalls, and without giving the machine id itself away); else, without a
    /// machine id, the host name (`/proc/sys/kernel/hostname`, at most 50 characters); nil when neither can be read.
    public static func resolve(configured: String?, paths: HostPaths) -> String? {
        if let configured, !configured.isEmpty { return configured }
        if let machineID = HostFile.readLine(paths.rootfs("etc/machine-id"))?.trimmingASCIIWhitespace(), !machineID.isEmpty {
            return derive(machineID: machineID)
        }
        if let hostname = HostFile.readLine(paths.proc("sys/kernel/hostname"))?.trimmingASCIIWhitespace(), !hostname.isEmpty {
            return String(String.UnicodeScalarView(hostname.unicodeScalars.prefix(maximumLength)))
        }
        return nil
    }

    /// The id of a machine id: lower-case hex of the first 16 bytes of HMAC-SHA256(key: machine id, "viworks-agent").
    public static func derive(machineID: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array("viworks-agent".utf8), using: SymmetricKey(data: Array(machineID.utf8)))
        return Hex.encode(Array(code).prefix(16))
    }
}
