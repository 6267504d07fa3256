//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentPlugins
import AgentRuntime
import Testing

/// A plugin's `disable` message wins over the exit that follows it (real processes).
@Suite("Plugin disable (real processes)", .timeLimit(.minutes(1)))
struct PluginDisableTests {
    /// The plugin exits right after `disable`: its stdout closes while the controller may not have read the message
    /// yet. Each run must still end disabled with the plugin's reason (never "exited with status 0", which the
    /// supervisor would restart); ten runs, since the exit used to win most of the time.
    @Test func disableFollowedByAnImmediateExitStillDisables() async throws {
        // As the agent does: writing the config or shutdown to a plugin that has gone must fail with EPIPE, not kill us.
        PluginHost.ignoreSIGPIPE()
        let manifest = try loadManifest(manifestText(name: "gone", script: "disable_exit.sh"))
        for _ in 0..<10 {
            let plugin = PluginHost(manifest: manifest, bus: MetricsBus(), logger: quietLogger, shutdownWait: .milliseconds(200), grace: .milliseconds(500))
            var ended: (any Error)?
            do {
                try await plugin.run(child: nil)
            } catch {
                ended = error
            }
            let disabled = try #require(ended as? PluginDisabled, "ended with \(String(describing: ended))")
            #expect(disabled.reason == "disabled at its own request: no GPU on this host")
            #expect(plugin.handle.snapshot.disabledReason == "disabled at its own request: no GPU on this host")
        }
    }
}
