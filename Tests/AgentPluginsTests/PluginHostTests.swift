//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentPlugins
import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real child processes: each test runs a script from Fixtures/bin through swift-subprocess.
@Suite("PluginHost (real processes)", .timeLimit(.minutes(3)))
struct PluginHostTests {
    private func host(_ manifest: PluginManifest, bus: MetricsBus = MetricsBus(), cycles: Int? = nil, log: ObservationLog? = nil) -> PluginHost {
        PluginHost(
            manifest: manifest, bus: bus, logger: quietLogger, shutdownWait: .milliseconds(200), grace: .milliseconds(500), cycles: cycles,
            observer: log?.observer)
    }

    @Test func wellBehavedPollPlugin() async throws {
        let manifest = try loadManifest(manifestText(name: "poll", script: "poll.sh"))
        let bus = MetricsBus()
        let stream = await bus.subscribe(name: "test", bufferingNewest: 16)
        let child = ChildHandle(ChildState(name: "poll", kind: "plugin", core: false))
        let started = ContinuousClock.now
        try await host(manifest, bus: bus, cycles: 3).run(child: child)
        let elapsed = started.duration(to: .now)
        // Three collects at 0, 200 and 400 ms (the upper bound allows a loaded machine).
        #expect(elapsed >= .milliseconds(380))
        #expect(elapsed < .seconds(20))
        var iterator = stream.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first?.source == "plugin:poll")
        #expect(first?.samples.count == 2)
        #expect(first?.samples.last?.labels == [MetricLabel("via", "sh"), MetricLabel("plugin", "poll")])
        let state = child.snapshot
        #expect(state.collections == 3)
        #expect(state.timeouts == 0)
        #expect((state.lastDurationSeconds ?? 1) < 0.5)
    }

    @Test func wellBehavedStreamPlugin() async throws {
        let manifest = try loadManifest(manifestText(name: "stream", script: "stream.sh", mode: "stream", interval: "100ms"))
        let plugin = host(manifest, cycles: 3)
        try await plugin.run(child: nil)
        let statistics = plugin.handle.snapshot
        #expect(statistics.batches >= 3)
        #expect(statistics.badLines.isEmpty)
        #expect(statistics.services["fixture"]?.state == "active")
        #expect(statistics.protocolVersion == 1)
        #expect(statistics.lastExit?.contains("finished 3 cycles") == true)
    }

    @Test func tracebackThenValidLines() async throws {
        let manifest = try loadManifest(manifestText(name: "traceback", script: "traceback.py"))
        let log = ObservationLog()
        let plugin = host(manifest, cycles: 3, log: log)
        try await plugin.run(child: nil)
        let statistics = plugin.handle.snapshot
        // Three traceback lines before the hello, then one junk line per collect.
        #expect(statistics.badLines == ["invalid_json": 6])
        #expect(statistics.samples == 3)
        let rejectedLines = log.all.compactMap { entry -> Int? in
            if case .lineRejected(let line, _) = entry.1 { return line }
            return nil
        }
        #expect(rejectedLines == [1, 2, 3, 5, 7, 9])
        #expect(statistics.disabledReason == nil)
    }

    @Test func oneMebibyteWithoutNewlineThenAValidLine() async throws {
        let manifest = try loadManifest(manifestText(name: "huge", script: "huge_line.py", mode: "stream", interval: "2s"))
        // The run ends after two metrics lines, not after an interval; the long interval only gives a loaded machine six
        // seconds of silence allowance to start Python and skip the megabyte.
        let plugin = host(manifest, cycles: 2)
        // That the megabyte is never buffered is LineFramerTests' exact check of the framer's buffer; the process's RSS
        // here would also count whatever the suites running beside this one allocate.
        try await plugin.run(child: nil)
        let statistics = plugin.handle.snapshot
        #expect(statistics.badLines == ["line_too_long": 1])
        #expect(statistics.samples >= 2)
        #expect(statistics.recentRejections.first?.contains("line 2: line_too_long: 1048576 bytes, the limit is 65536") == true)
    }

    @Test func invalidUTF8AndNaNAreRejectedAndTheRestKept() async throws {
        let manifest = try loadManifest(manifestText(name: "values", script: "bad_values.py", mode: "stream", interval: "2s"))
        let plugin = host(manifest, cycles: 2)
        try await plugin.run(child: nil)
        let statistics = plugin.handle.snapshot
        #expect(statistics.badLines == ["invalid_utf8": 1])
        #expect((statistics.rejectedSamples["non_finite_value"] ?? 0) >= 4)
        #expect(statistics.samples >= 2)
    }

    @Test func unknownProtocolVersionIsRefusedAndDisabled() async throws {
        let manifest = try loadManifest(manifestText(name: "v2", script: "protocol2.sh"))
        let plugin = host(manifest)
        await #expect(throws: PluginDisabled.self) { try await plugin.run(child: nil) }
        let statistics = plugin.handle.snapshot
        #expect(statistics.disabledReason == "refused: protocol 2 is not supported; this agent speaks protocol 1")
    }

    @Test func disableMessageDisables() async throws {
        let manifest = try loadManifest(manifestText(name: "off", script: "disable.sh"))
        let plugin = host(manifest)
        await #expect(throws: PluginDisabled.self) { try await plugin.run(child: nil) }
        #expect(plugin.handle.snapshot.disabledReason == "disabled at its own request: nothing to monitor on this host")
    }

    @Test func hungPluginIsKilledAfterItsTimeout() async throws {
        let manifest = try loadManifest(manifestText(name: "hang", script: "hang.sh", interval: "200ms", timeout: "300ms"))
        let plugin = host(manifest)
        let started = ContinuousClock.now
        do {
            try await plugin.run(child: nil)
            Issue.record("expected a timeout")
        } catch let error as PluginRunError {
            #expect(error == .noReply(id: 1, timeout: .milliseconds(300)))
        }
        // hang.sh sleeps 30 s: ending well before is the timeout's doing.
        #expect(started.duration(to: .now) < .seconds(15))
        #expect(plugin.handle.snapshot.lastExit == "no reply to collect 1 within 300ms; stopped (killed by signal 15 (SIGTERM))")
    }

    @Test func pluginIgnoringSIGTERMIsKilledAfterTheGracePeriod() async throws {
        let manifest = try loadManifest(manifestText(name: "stubborn", script: "ignore_term.sh", interval: "200ms", timeout: "200ms"))
        let plugin = host(manifest)
        let started = ContinuousClock.now
        await #expect(throws: PluginRunError.self) { try await plugin.run(child: nil) }
        let elapsed = started.duration(to: .now)
        // Timeout 200 ms, then SIGTERM is ignored for the 500 ms grace period, then SIGKILL.
        #expect(elapsed >= .milliseconds(650))
        #expect(elapsed < .seconds(20), "ignore_term.sh never ends by itself")
        #expect(plugin.handle.snapshot.lastExit?.hasSuffix("(killed by signal 9 (SIGKILL))") == true)
    }

    @Test func exitAtOnceIsToldApartFromOtherEnds() async throws {
        let manifest = try loadManifest(manifestText(name: "exit", script: "exit_now.sh"))
        let plugin = host(manifest)
        do {
            try await plugin.run(child: nil)
            Issue.record("expected an exit")
        } catch let error as PluginRunError {
            guard case .exited(let description) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(description.hasPrefix("exited with status 3 before producing a valid line after "))
            #expect(description.hasSuffix("; last stderr: cannot connect to the database"))
        }
    }

    @Test func floodOfAMillionLinesStaysBoundedAndIsCounted() async throws {
        // The rate limit is lifted to its maximum: this is about framing and counting every line.
        let manifest = try loadManifest(
            manifestText(name: "flood", script: "flood.py", mode: "stream", interval: "1s", extra: "max_messages_per_second = 1000000"))
        let plugin = host(manifest)
        let before = residentKiB()
        let task = Task { try await plugin.run(child: nil) }
        // 25 s in a debug build on two loaded cores, 45 s with two more busy processes beside it: the wait allows 150 s.
        let counted = await eventually(timeout: .seconds(150)) { plugin.handle.snapshot.badLines["invalid_json"] ?? 0 >= 999_000 }
        let grown = residentKiB() - before
        task.cancel()
        _ = await task.result
        let statistics = plugin.handle.snapshot
        #expect(counted)
        #expect(statistics.badLines["invalid_json"] == 999_000)
        #expect(statistics.samples >= 1000)
        #expect(grown < 64 * 1024, "RSS grew by \(grown) KiB")
        #expect(statistics.lastExit?.hasPrefix("stopped by the agent") == true)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to switch users"))
    func runsAsTheManifestsUserWhenRoot() async throws {
        // A copy under /tmp: the checkout's parent directories need not be open to nobody.
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        let script = directory.path + "/whoami.sh"
        let text = try HostFile.read(fixturePlugin("whoami.sh"))
        if let file = fopen(script, "w") {
            _ = fputs(text, file)
            fclose(file)
        }
        _ = chmod(script, 0o755)
        var manifest = try loadManifest(manifestText(name: "who", script: "whoami.sh", mode: "stream", interval: "100ms", extra: "user = \"nobody\""))
        manifest.executable = script
        let bus = MetricsBus()
        let stream = await bus.subscribe(name: "test", bufferingNewest: 4)
        try await host(manifest, bus: bus, cycles: 1).run(child: nil)
        var iterator = stream.makeAsyncIterator()
        let batch = await iterator.next()
        #expect(batch?.samples.first { $0.name == "fixture_uid" }?.value == 65534)
        #expect(batch?.samples.first { $0.name == "fixture_gid" }?.value == 65534)
    }

    @Test func unknownUserCannotStart() async throws {
        guard geteuid() == 0 else { return }
        let manifest = try loadManifest(manifestText(name: "who", script: "whoami.sh", mode: "stream", extra: "user = \"no-such-user-xyz\""))
        let plugin = host(manifest)
        await #expect(throws: PluginRunError.spawnFailed("unknown user \"no-such-user-xyz\"")) { try await plugin.run(child: nil) }
    }

    @Test func missingExecutableCannotStart() async throws {
        let manifest = try loadManifest(manifestText(name: "poll", script: "poll.sh"))
        var broken = manifest
        broken.executable = "/nonexistent/plugin"
        let plugin = host(broken)
        await #expect(throws: PluginRunError.self) { try await plugin.run(child: nil) }
        #expect(plugin.handle.snapshot.lastExit?.hasPrefix("cannot start") == true)
    }
}
