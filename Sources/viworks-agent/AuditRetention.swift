//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Logging
import ServiceLifecycle

/// Removes audit records older than `[commands] audit_retention`, at start and then daily.
struct AuditRetention: Service {
    let audit: AuditLog
    let retention: Duration
    let logger: Logger

    func run() async {
        // Shutdown cancels the sleep: the service then ends normally (an error here would fail the whole agent's exit).
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            // Saturating: a configured retention of centuries means "keep everything", not a trap.
            let cutoff = Timestamp(secondsSinceEpoch: Timestamp.now().secondsSinceEpoch - retention.secondsDouble)
            do {
                let removed = try audit.removeRecords(before: cutoff)
                if removed > 0 { logger.info("audit retention removed old records", metadata: ["removed": "\(removed)"]) }
            } catch {
                logger.warning("audit retention failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(86_400))
        }
    }
}
