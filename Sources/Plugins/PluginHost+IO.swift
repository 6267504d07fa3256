//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Logging
import Subprocess

// MARK: - Controller

/// The handshake, the poll loop and the liveness checks of one run. It reacts to the reader's events and
/// to its own ticks, and throws why the run must end.
struct Controller: Sendable {
    let manifest: PluginManifest
    let agentVersion: String
    let live: LiveState
    let child: ChildHandle?
    let logger: Logger
    let observer: (@Sendable (PluginObservation) -> Void)?
    let cycles: Int?

    private enum Phase {
        case awaitingHello(deadline: ContinuousClock.Instant)
        case idle(next: ContinuousClock.Instant)
        case waiting(id: Int64, sentAt: ContinuousClock.Instant, scheduled: ContinuousClock.Instant, deadline: ContinuousClock.Instant)
        case streaming
    }

    /// How often deadlines are checked: a twentieth of the shorter of interval and timeout, 10 ms to 500 ms.
    var tick: Duration {
        let base = min(manifest.interval, manifest.timeout) / 20
        return min(max(base, .milliseconds(10)), .milliseconds(500))
    }

    func control(writer: StandardInputWriter, events: AsyncStream<HostEvent>, ticks: AsyncStream<HostEvent>.Continuation) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let tick = self.tick
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: tick)
                    ticks.yield(.tick)
                }
            }
            group.addTask { try await self.loop(writer: writer, events: events) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func loop(writer: StandardInputWriter, events: AsyncStream<HostEvent>) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        var phase = Phase.awaitingHello(deadline: start.advanced(by: manifest.timeout))
        var lastID: Int64 = 0
        var done = 0
        let silence = manifest.interval * 3
        for await event in events {
            let now = clock.now
            switch event {
            case .hello(let hello):
                guard case .awaitingHello = phase else { break }
                guard hello.protocolVersion == pluginProtocolVersion else {
                    throw PluginDisabled(
                        reason: "refused: protocol \(hello.protocolVersion) is not supported; this agent speaks protocol \(pluginProtocolVersion)")
                }
                _ = await Self.send(writer, Wire.config(manifest: manifest, agentVersion: agentVersion), timeout: manifest.timeout)
                logger.info(
                    "plugin started", metadata: ["plugin.version": "\(hello.version ?? "")", "plugin.mode": "\(manifest.mode.rawValue)"])
                phase = manifest.mode == .poll ? .idle(next: now) : .streaming
            case .reply(let id, _, _):
                guard case .waiting(let pending, let sentAt, let scheduled, _) = phase, pending == id else { break }
                let duration = sentAt.duration(to: now)
                child?.recordCollection(at: .now(), duration: duration, error: nil)
                done += 1
                if let cycles, done >= cycles { return }
                var next = scheduled.advanced(by: manifest.interval)
                if next < now {
                    let behind = next.duration(to: now)
                    next = next.advanced(by: manifest.interval * (Int(behind / manifest.interval) + 1))
                }
                phase = .idle(next: next)
            case .metrics:
                done += 1
                if manifest.mode == .stream, let cycles, done >= cycles { return }
            case .disable(let reason):
                throw PluginDisabled(ownRequest: reason)
            case .tick:
                break
            }
            switch phase {
            case .awaitingHello(let deadline):
                if now >= deadline { throw PluginRunError.noHello(timeout: manifest.timeout) }
            case .idle(let next):
                guard now >= next else { break }
                lastID += 1
                live.pendingID = lastID
                phase = .waiting(id: lastID, sentAt: now, scheduled: next, deadline: now.advanced(by: manifest.timeout))
                observer?(.collectSent(id: lastID))
                _ = await Self.send(writer, Wire.collect(id: lastID, deadline: manifest.timeout), timeout: manifest.timeout)
            case .waiting(let id, _, _, let deadline):
                if now >= deadline {
                    child?.recordCollection(at: .now(), duration: manifest.timeout, error: CollectorError.timedOut(manifest.timeout))
                    throw PluginRunError.noReply(id: id, timeout: manifest.timeout)
                }
            case .streaming:
                let last = live.lastValidLine ?? start
                if last.duration(to: now) >= silence { throw PluginRunError.silent(silence) }
            }
        }
        throw CancellationError()
    }

    /// Writes one line to the plugin's stdin within `timeout` (a plugin that never reads must not block us).
    @discardableResult
    static func send(_ writer: StandardInputWriter, _ bytes: [UInt8], timeout: Duration) async -> Bool {
        do {
            try await withDeadline(timeout, clock: ContinuousClock()) {
                _ = try await writer.write(bytes)
            }
            return true
        } catch {
            return false
        }
    }
}

// MARK: - Stdout

/// Frames and decodes the plugin's stdout, counts what is wrong, publishes samples and tells the controller.
struct StdoutReader: Sendable {
    let manifest: PluginManifest
    let handle: PluginHandle
    let bus: MetricsBus
    let logger: Logger
    let live: LiveState
    let events: AsyncStream<HostEvent>.Continuation
    let observer: (@Sendable (PluginObservation) -> Void)?
    let cycles: Int?

    /// Per-run state of the reader, updated inside the framer's synchronous callback.
    private struct State {
        var batches: [MetricBatch] = []
        var lastLogged: [String: ContinuousClock.Instant] = [:]
        var logWindow = ContinuousClock.now
        var logCount = 0
        var started = ContinuousClock.now
        /// The current one-second window of `max_messages_per_second` and the lines read in it.
        var lineWindow = ContinuousClock.now
        var linesInWindow = 0
        /// Lines dropped by the rate limit and not yet added to the handle's statistics.
        var rateLimited: UInt64 = 0
        var firstRateLimitedLine: Int?
    }

    func read(_ output: SubprocessOutputSequence) async {
        var framer = LineFramer(maximumLineLength: manifest.maxLineBytes)
        let decoder = WireDecoder(pluginName: manifest.name)
        var state = State()
        do {
            for try await buffer in output {
                buffer.withUnsafeBytes { bytes in
                    framer.feed(bytes) { frame in process(frame, decoder: decoder, state: &state) }
                }
                await publish(&state)
                // Over the limit: stop reading until the window ends, so that a flooding plugin blocks on its full
                // pipe instead of costing the agent a core.
                if state.linesInWindow > manifest.maxMessagesPerSecond {
                    try? await Task.sleep(until: state.lineWindow.advanced(by: .seconds(1)), clock: .continuous)
                }
            }
        } catch {
            logger.debug("reading plugin stdout failed", metadata: ["error": "\(error)"])
        }
        framer.finish { frame in process(frame, decoder: decoder, state: &state) }
        await publish(&state)
    }

    private func publish(_ state: inout State) async {
        if state.rateLimited > 0 {
            let dropped = state.rateLimited
            let line = state.firstRateLimitedLine ?? 0
            state.rateLimited = 0
            state.firstRateLimitedLine = nil
            let rejection = LineRejection(
                .rateLimited, "\(dropped) lines beyond max_messages_per_second (\(manifest.maxMessagesPerSecond)) dropped unread, from line \(line)")
            handle.update { $0.badLines[LineRejection.Reason.rateLimited.rawValue, default: 0] &+= dropped }
            handle.noteRejection("line \(line): \(rejection)")
            observer?(.lineRejected(line: line, rejection))
            warnOnce(rejection.reason.rawValue, "plugin lines dropped: \(rejection)", state: &state)
        }
        guard !state.batches.isEmpty else { return }
        let batches = state.batches
        state.batches.removeAll(keepingCapacity: true)
        for batch in batches { await bus.publish(batch) }
    }

    /// Counts a line against `max_messages_per_second`; false when it is over the limit (once the hello is in:
    /// the handshake is never dropped).
    private func withinRate(_ state: inout State) -> Bool {
        guard live.helloSeen else { return true }
        let now = ContinuousClock.now
        if state.lineWindow.duration(to: now) >= .seconds(1) {
            state.lineWindow = now
            state.linesInWindow = 0
        }
        state.linesInWindow += 1
        return state.linesInWindow <= manifest.maxMessagesPerSecond
    }

    private func process(_ frame: LineFramer.Frame, decoder: WireDecoder, state: inout State) {
        switch frame {
        case .overlong(let length, let number):
            reject(LineRejection(.lineTooLong, "\(length) bytes, the limit is \(manifest.maxLineBytes)"), line: number, state: &state)
        case .line(let bytes, let number):
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            guard withinRate(&state) else {
                state.rateLimited &+= 1
                if state.firstRateLimitedLine == nil { state.firstRateLimitedLine = number }
                return
            }
            let decoded: DecodedLine
            do {
                decoded = try decoder.decode(bytes)
            } catch {
                reject(error, line: number, state: &state)
                return
            }
            accept(decoded, line: number, state: &state)
        }
    }

    private func accept(_ decoded: DecodedLine, line: Int, state: inout State) {
        if case .hello(let hello) = decoded.message {
            guard live.markHello() else {
                reject(LineRejection(.duplicateHello, "hello was already received"), line: line, state: &state)
                return
            }
            handle.update {
                $0.protocolVersion = hello.protocolVersion
                $0.pluginVersion = hello.version
            }
            observer?(.hello(hello, line: line, after: state.started.duration(to: .now)))
            countValid(decoded)
            events.yield(.hello(hello))
            return
        }
        guard live.helloSeen else {
            reject(LineRejection(.beforeHello, "a \(decoded.message.type) message before the hello"), line: line, state: &state)
            return
        }
        switch decoded.message {
        case .hello:
            break
        case .metrics(let message):
            var replyID: Int64?
            if manifest.mode == .poll {
                guard let id = message.id else {
                    reject(LineRejection(.missingID, "a metrics reply in poll mode must carry the id of the collect"), line: line, state: &state)
                    return
                }
                guard live.takeReply(id) else {
                    let pending = live.pendingID.map { "\($0)" } ?? "none"
                    reject(LineRejection(.unexpectedID, "reply to collect \(id), but the outstanding collect is \(pending)"), line: line, state: &state)
                    return
                }
                replyID = id
            }
            let now = Timestamp.now()
            var stamp = now
            if let milliseconds = message.timestampMilliseconds {
                if let problem = timestampProblem(milliseconds, now: now) {
                    // Refused whole; a poll reply still answers its collect, so the plugin is not restarted for it.
                    live.markValid()
                    reject(problem, line: line, state: &state)
                    if let replyID {
                        observer?(.reply(id: replyID, line: line, after: .zero, samples: 0))
                        events.yield(.reply(id: replyID, line: line, samples: 0))
                    }
                    return
                }
                stamp = Timestamp(millisecondsSinceEpoch: milliseconds)
            }
            let monotonic = MonotonicClock.bootTimeSeconds()
            let (samples, refused) = handle.admit(message.samples, limit: manifest.maxSeries, idle: manifest.seriesIdleTimeout, at: monotonic)
            var rejections = message.rejectedSamples
            if !refused.isEmpty { rejections += seriesLimitRejections(message, refused: refused) }
            state.batches.append(MetricBatch(source: "plugin:\(manifest.name)", timestamp: stamp, samples: samples))
            handle.recordBatch(samples: samples.count, at: monotonic)
            handle.update { value in
                value.samples &+= UInt64(samples.count)
                value.batches &+= 1
                value.lastSampleAt = now
                for rejection in rejections { value.rejectedSamples[rejection.reason.rawValue, default: 0] &+= 1 }
            }
            for rejection in rejections {
                observer?(.sampleRejected(line: line, rejection))
                handle.noteRejection("line \(line): \(rejection)")
                warnOnce("sample:" + rejection.reason.rawValue, "plugin sample rejected: \(rejection)", state: &state)
            }
            if let replyID {
                observer?(.reply(id: replyID, line: line, after: .zero, samples: samples.count))
                events.yield(.reply(id: replyID, line: line, samples: samples.count))
            } else {
                observer?(.metrics(line: line, samples: samples.count))
                if cycles != nil { events.yield(.metrics) }
            }
        case .service(let service):
            handle.update { value in
                if value.services[service.name] != nil || value.services.count < 256 {
                    value.services[service.name] = PluginServiceState(name: service.name, state: service.state, message: service.message, reportedAt: .now())
                }
            }
        case .log(let message):
            observer?(.log(level: message.level, message: message.message))
            if allowLog(&state) {
                let level = Logger.Level(rawValue: message.level) ?? .info
                logger.log(level: level, "\(message.message.prefix(4096))", metadata: ["plugin.source": "log"])
            } else {
                handle.update { $0.logRateLimited &+= 1 }
            }
        case .disable(let reason):
            live.disableRequest = reason
            events.yield(.disable(reason))
        case .unknown(let type):
            observer?(.ignored(line: line, what: "message type \"\(type)\""))
            handle.update { $0.ignoredMessages &+= 1 }
        }
        countValid(decoded)
    }

    /// Why a message's `timestamp_ms` is refused: outside [now − history retention, now + 5 minutes] (it would be
    /// deleted at once, or sit ahead of every other series), or older than the plugin's newest one (it would split
    /// the open history block of each of its series). Nil when it is accepted.
    private func timestampProblem(_ milliseconds: Int64, now: Timestamp) -> LineRejection? {
        let nowMilliseconds = now.millisecondsSinceEpoch
        let lead = HistoryStore.milliseconds(PluginManifest.maxTimestampLead)
        let age = HistoryStore.milliseconds(manifest.maxTimestampAge)
        if milliseconds > nowMilliseconds + lead {
            return LineRejection(
                .invalidTimestamp,
                "timestamp_ms \(milliseconds) is more than \(PluginHost.format(PluginManifest.maxTimestampLead)) ahead of the agent's clock (\(nowMilliseconds), \(now.rfc3339))"
            )
        }
        if milliseconds < nowMilliseconds - age {
            return LineRejection(
                .invalidTimestamp,
                "timestamp_ms \(milliseconds) is older than the history retention (\(PluginHost.format(manifest.maxTimestampAge))) allows; the agent's clock is \(nowMilliseconds) (\(now.rfc3339))"
            )
        }
        if let newest = handle.acceptStamp(milliseconds) {
            return LineRejection(.outOfOrder, "timestamp_ms \(milliseconds) is older than the plugin's previous timestamp_ms \(newest)")
        }
        return nil
    }


    /// `series_limit` rejections for the samples at `refused` (indices into the message's valid samples), each
    /// with its position in the message as the plugin wrote it.
    private func seriesLimitRejections(_ message: MetricsMessage, refused: [Int]) -> [SampleRejection] {
        let dropped = Set(message.rejectedSamples.map(\.index))
        var positions: [Int] = []
        positions.reserveCapacity(message.samples.count)
        var position = 0
        while positions.count < message.samples.count {
            if !dropped.contains(position) { positions.append(position) }
            position += 1
        }
        return refused.map { index in
            let sample = message.samples[index]
            return SampleRejection(
                index: positions[index], reason: .seriesLimit,
                detail: "\(SeriesKey(name: sample.name, labels: sample.labels)) is a new series beyond max_series (\(manifest.maxSeries))")
        }
    }

    private func countValid(_ decoded: DecodedLine) {
        live.markValid()
        handle.update {
            $0.validLines &+= 1
            $0.ignoredFields &+= UInt64(decoded.ignoredFields)
        }
    }

    private func reject(_ rejection: LineRejection, line: Int, state: inout State) {
        handle.update { $0.badLines[rejection.reason.rawValue, default: 0] &+= 1 }
        handle.noteRejection("line \(line): \(rejection)")
        observer?(.lineRejected(line: line, rejection))
        warnOnce(rejection.reason.rawValue, "plugin line rejected: \(rejection)", line: line, state: &state)
    }

    /// Logs at most once per reason per minute.
    private func warnOnce(_ key: String, _ message: String, line: Int? = nil, state: inout State) {
        let now = ContinuousClock.now
        if let last = state.lastLogged[key], last.duration(to: now) < .seconds(60) { return }
        state.lastLogged[key] = now
        var metadata: Logger.Metadata = [:]
        if let line { metadata["plugin.line"] = "\(line)" }
        logger.warning("\(message)", metadata: metadata)
    }

    /// At most 100 plugin log messages per second.
    private func allowLog(_ state: inout State) -> Bool {
        let now = ContinuousClock.now
        if state.logWindow.duration(to: now) >= .seconds(1) {
            state.logWindow = now
            state.logCount = 0
        }
        state.logCount += 1
        return state.logCount <= 100
    }
}

// MARK: - Stderr

/// Sends each stderr line to the log with the plugin's name (at most 100 lines per second).
struct StderrReader: Sendable {
    let manifest: PluginManifest
    let handle: PluginHandle
    let logger: Logger
    let observer: (@Sendable (PluginObservation) -> Void)?

    func read(_ output: SubprocessOutputSequence) async {
        var framer = LineFramer(maximumLineLength: 8192)
        var window = ContinuousClock.now
        var count = 0
        func emit(_ frame: LineFramer.Frame) {
            let text: String
            switch frame {
            case .line(let bytes, _): text = String(decoding: bytes, as: UTF8.self)
            case .overlong(let length, _): text = "(a stderr line of \(length) bytes, not shown)"
            }
            observer?(.stderr(text))
            let now = ContinuousClock.now
            if window.duration(to: now) >= .seconds(1) {
                window = now
                count = 0
            }
            count += 1
            handle.update { value in
                value.stderrLines &+= 1
                value.lastStderr.append(String(text.prefix(500)))
                if value.lastStderr.count > 5 { value.lastStderr.removeFirst() }
                if count > 100 { value.logRateLimited &+= 1 }
            }
            if count <= 100 { logger.info("\(text)", metadata: ["plugin.source": "stderr"]) }
        }
        do {
            for try await buffer in output {
                buffer.withUnsafeBytes { bytes in framer.feed(bytes) { emit($0) } }
            }
        } catch {
            logger.debug("reading plugin stderr failed", metadata: ["error": "\(error)"])
        }
        framer.finish { emit($0) }
    }
}
