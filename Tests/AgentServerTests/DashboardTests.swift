//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@testable import AgentServer

/// The dashboard's page and files: versioned URLs, gzip, strong ETags, cache lifetimes and security headers.
struct DashboardTests {
    static let policy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// Every file of `Resources/dashboard` is embedded and listed, and nothing else.
    @Test func everyResourceFileIsServed() throws {
        let directory = repositoryRoot.appending(path: "Sources/Server/Resources/dashboard")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(files == DashboardAssets.embedded.map(\.name).sorted())
        for file in DashboardAssets.embedded {
            #expect(Data(file.bytes) == (try Data(contentsOf: directory.appending(path: file.name))), "\(file.name)")
        }
    }

    @Test func thePageNamesTheVersionedFolderAndCarriesTheSecurityHeaders() async throws {
        let assets = DashboardAssets.shared
        #expect(assets.version.count == 16)
        try await FakeAgent().application().test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.cacheControl] == "no-cache")
            #expect(page.headers[.contentSecurityPolicy] == Self.policy)
            #expect(page.headers[.xContentTypeOptions] == "nosniff")
            #expect(page.headers[values: HTTPField.Name("Referrer-Policy")!] == ["no-referrer"])
            #expect(page.headers[.contentEncoding] == nil)
            let html = String(buffer: page.body)
            #expect(html.contains("src=\"/assets/\(assets.version)/app.js\""))
            #expect(!html.contains(DashboardAssets.versionPlaceholder))
            // No inline script or style: every script has a src, no style element or attribute.
            #expect(!html.contains("<style") && !html.contains("style=") && !html.contains("<script>"))
            let etag = try #require(page.headers[.eTag])
            let again = try await client.execute(uri: "/", method: .get, headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified)
            #expect(again.body.readableBytes == 0)
        }
    }

    @Test func filesAreGzippedWhenAcceptedAndImmutable() async throws {
        let assets = DashboardAssets.shared
        let chart = try #require(assets.assets["chart.min.js"])
        #expect(chart.gzip.readableBytes < chart.identity.readableBytes / 2)
        try await FakeAgent().application().test(.router) { client in
            let uri = "/assets/\(assets.version)/chart.min.js"
            let plain = try await client.execute(uri: uri, method: .get)
            #expect(plain.status == .ok)
            #expect(plain.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(plain.headers[.cacheControl] == "public, max-age=31536000, immutable")
            #expect(plain.headers[.vary] == "Accept-Encoding")
            #expect(plain.headers[.contentEncoding] == nil)
            #expect(String(buffer: plain.body).hasPrefix("/*!\n * Chart.js v3.9.1"))
            let gzipped = try await client.execute(uri: uri, method: .get, headers: [.acceptEncoding: "br;q=1, gzip;q=0.8"])
            #expect(gzipped.headers[.contentEncoding] == "gzip")
            #expect(gzipped.body.readableBytes == chart.gzip.readableBytes)
            var body = gzipped.body
            let inflated = try body.decompress(with: .gzip())
            #expect(inflated == plain.body)
            let plainTag = try #require(plain.headers[.eTag])
            let gzipTag = try #require(gzipped.headers[.eTag])
            #expect(plainTag != gzipTag && gzipTag.hasSuffix("-gz\""))
            let refused = try await client.execute(uri: uri, method: .get, headers: [.acceptEncoding: "gzip;q=0, identity"])
            #expect(refused.headers[.contentEncoding] == nil)
            let revalidated = try await client.execute(uri: uri, method: .get, headers: [.acceptEncoding: "gzip", .ifNoneMatch: gzipTag])
            #expect(revalidated.status == .notModified)
            for missing in ["/assets/\(assets.version)/nope.js", "/assets/0000000000000000/app.js", "/assets/\(assets.version)/..%2Fopenapi.json"] {
                let response = try await client.execute(uri: missing, method: .get)
                #expect(response.status == .notFound, "\(missing)")
                #expect(try json(response.body)["error"] != nil)
            }
        }
    }

    @Test func aDisabledDashboardAnswers404() async throws {
        var dependencies = FakeAgent().dependencies
        dependencies.dashboard.enabled = false
        try await Application(router: APIServer.buildRouter(dependencies: dependencies)).test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .notFound)
            let error = try #require(try json(page.body)["error"] as? [String: String])
            #expect(error["message"] == "the dashboard is disabled ([dashboard] enabled = false)")
            let file = try await client.execute(uri: "/assets/\(DashboardAssets.shared.version)/app.js", method: .get)
            #expect(file.status == .notFound)
        }
    }

    @Test func acceptEncodingFollowsQualities() {
        #expect(DashboardController.acceptsGzip("gzip, deflate, br"))
        #expect(DashboardController.acceptsGzip("*"))
        #expect(!DashboardController.acceptsGzip("gzip;q=0"))
        #expect(!DashboardController.acceptsGzip("gzip; q=0.000, br"))
        #expect(!DashboardController.acceptsGzip(""))
        #expect(!DashboardController.acceptsGzip("identity"))
    }

    /// Whoami tells the role the access control gave the request; the alert rules give the configured thresholds.
    @Test func whoamiAndAlertRules() async throws {
        let key = APIKeyStore.generate()
        var control = AccessControl.unrestricted
        control.anonymousRole = .viewer
        control.apiKeys = APIKeyStore([APIKeyEntry(name: "ops", role: .operator, hash: key.hash)])
        var dependencies = FakeAgent().dependencies
        var alerts = AlertSettings()
        alerts.cpu = AlertRuleSettings(warning: 70, critical: 90)
        alerts.disk.enabled = false
        alerts.loadPerCore = true
        dependencies.headlineThresholds = AgentCondition.Thresholds(alerts)
        let app = Application(router: APIServer.buildRouter(dependencies: dependencies, access: AccessControlState(control)))
        try await app.test(.router) { client in
            let anonymous = try json(try await client.execute(uri: "/api/v1/whoami", method: .get).body)
            #expect(anonymous["principal"] as? String == "anonymous" && anonymous["role"] as? String == "viewer" && anonymous["method"] as? String == "anonymous")
            let keyed = try json(try await client.execute(uri: "/api/v1/whoami", method: .get, headers: [.authorization: "Bearer \(key.key)"]).body)
            #expect(keyed["principal"] as? String == "key:ops" && keyed["role"] as? String == "operator" && keyed["method"] as? String == "api_key")
            let rules = try json(try await client.execute(uri: "/api/v1/alerts/rules", method: .get).body)
            let byRule = try #require(rules["rules"] as? [String: Any])
            let cpu = try #require(byRule["cpu"] as? [String: Any])
            #expect(cpu["warning"] as? Double == 70 && cpu["critical"] as? Double == 90 && cpu["warning_clear"] as? Double == 66.5)
            #expect(byRule["disk"] is NSNull)
            #expect((byRule["load"] as? [String: Any])?["per_core"] as? Bool == true)
            #expect((byRule["memory"] as? [String: Any])?["per_core"] == nil)
        }
    }
}

/// `GET /api/v1/stream`: one status event per collection, resumption, the cap on streams.
struct LiveStreamTests {
    static func hub(_ agent: FakeAgent, maxClients: Int = 4) -> LiveStatusHub {
        var settings = StreamSettings()
        settings.maxClients = maxClients
        return LiveStatusHub(dependencies: agent.dependencies, bus: agent.bus, settings: settings, logger: Logger(label: "test"))
    }

    @Test func aStreamGetsTheStatusDocumentOfTheLatestCollection() async throws {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(cpu50))
        let hub = Self.hub(agent)
        await hub.update()
        var dependencies = agent.dependencies
        dependencies.liveStatus = hub
        try await Application(router: APIServer.buildRouter(dependencies: dependencies)).test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/stream?max_events=1", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream; charset=utf-8")
            #expect(response.headers[.cacheControl] == "no-store")
            let text = String(buffer: response.body)
            #expect(text.hasPrefix("retry: 3000\n"))
            let lines = text.split(separator: "\n")
            #expect(lines.contains("id: \(hub.generation)-1"))
            #expect(lines.contains("event: status"))
            let data = try #require(lines.first { $0.hasPrefix("data: ") })
            let status = try #require(try JSONSerialization.jsonObject(with: Data(data.dropFirst(6).utf8)) as? [String: Any])
            #expect((status["system_health"] as? [String: Any])?["cpu_usage_percent"] as? Double == 50)
            // The same bytes a poll gets.
            let poll = try await client.execute(uri: "/api/v1/status", method: .get)
            #expect(String(data.dropFirst(6)) == String(buffer: poll.body))
            // The verdict follows in the same write: the `status-simple` event, the bytes a poll of status-simple gets.
            let both = String(buffer: try await client.execute(uri: "/api/v1/stream?max_events=2", method: .get).body)
            let simpleLines = both.split(separator: "\n").drop { $0 != "event: status-simple" }
            #expect(simpleLines.first == "event: status-simple")
            let simpleData = try #require(simpleLines.first { $0.hasPrefix("data: ") })
            let simplePoll = try await client.execute(uri: "/api/v1/status-simple", method: .get)
            #expect(String(simpleData.dropFirst(6)) == String(buffer: simplePoll.body))
            #expect(both.contains("id: \(hub.generation)-2\nevent: status-simple\n"))
            // An id this process did not send resumes nothing: the latest event comes at once.
            let foreign = try await client.execute(uri: "/api/v1/stream?max_events=1", method: .get, headers: [HTTPField.Name("Last-Event-ID")!: "x-1"])
            #expect(String(buffer: foreign.body).contains("id: \(hub.generation)-1\n"))
            let big = try await client.execute(uri: "/api/v1/stream?max_events=0", method: .get)
            #expect(big.status == .badRequest)
        }
    }

    /// A live event that reaches `max_events` ends the stream (its termination frees the client's place).
    @Test func aStreamEndsAfterMaxEventsArrivingLive() async throws {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(cpu50))
        let hub = Self.hub(agent)
        await hub.update()
        // Replayed at once: status (1) and status-simple (2); the third event is the next collection's status.
        let stream = try hub.subscribe(lastEventID: nil, maxEvents: 3)
        #expect(hub.clientCount == 1)
        agent.apply("memory", .memory(memory))
        await hub.update()
        await hub.update()  // nothing new: no event
        var sequences: [UInt64] = []
        var kinds: [LiveStatusHub.Kind] = []
        for await item in stream {
            if case .events(let batch) = item {
                sequences += batch.events.map(\.sequence)
                kinds += batch.events.map(\.kind)
            }
        }
        #expect(sequences == [1, 2, 3])
        #expect(kinds == [.status, .statusSimple, .status])
        #expect(hub.clientCount == 0)
    }

    /// While no stream is open a collection encodes nothing; the next stream to open gets the current documents.
    @Test func withoutStreamsTheStatusIsEncodedWhenAStreamOpens() async throws {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(cpu50))
        let hub = Self.hub(agent)
        await hub.update()  // the first documents: events 1 and 2
        agent.apply("memory", .memory(memory))
        await hub.update()  // no stream open: kept as they were
        var replayed: [UInt64] = []
        for await item in try hub.subscribe(lastEventID: nil, maxEvents: 2) {
            if case .events(let batch) = item { replayed += batch.events.map(\.sequence) }
        }
        #expect(replayed == [1, 2])
        var dependencies = agent.dependencies
        dependencies.liveStatus = hub
        try await Application(router: APIServer.buildRouter(dependencies: dependencies)).test(.router) { client in
            let text = String(buffer: try await client.execute(uri: "/api/v1/stream?max_events=2", method: .get).body)
            let lines = text.split(separator: "\n")
            #expect(lines.contains("id: \(hub.generation)-3"))
            #expect(lines.contains("id: \(hub.generation)-4"))
            let data = try #require(lines.first { $0.hasPrefix("data: ") })
            let poll = try await client.execute(uri: "/api/v1/status", method: .get)
            #expect(String(data.dropFirst(6)) == String(buffer: poll.body))
            let status = try #require(try JSONSerialization.jsonObject(with: Data(data.dropFirst(6).utf8)) as? [String: Any])
            #expect((status["system_health"] as? [String: Any])?["memory_usage_percent"] as? Double == 18)
        }
    }

    /// The hub takes the bus's batches as they come, however many arrive while it waits to publish: a burst of 150
    /// batches (more than the subscription's buffer of 64) loses none, and the last one is published.
    @Test func aBurstOfBatchesLosesNoneOnTheBus() async throws {
        let agent = FakeAgent()
        var settings = StreamSettings()
        settings.keepAlive = .seconds(1)
        let hub = LiveStatusHub(dependencies: agent.dependencies, bus: agent.bus, settings: settings, logger: Logger(label: "test"))
        let store = agent.store
        let running = [Task { try await hub.run() }, Task { try await store.run() }]
        defer { for task in running { task.cancel() } }
        for _ in 0..<3000 where await agent.bus.dropCounts().keys.count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await agent.bus.dropCounts().keys.sorted() == ["snapshot", "stream"])
        let stream = try hub.subscribe(lastEventID: nil, maxEvents: nil)
        for index in 1...150 {
            var report = cpu50
            report.usagePercent = index == 150 ? 77.5 : Double(index % 50)
            await agent.bus.publish(MetricBatch(source: "cpu", timestamp: .now(), samples: [], report: .cpu(report)))
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(await agent.bus.dropCounts()["stream"] == 0)
        // A publication after the burst carries its last batch.
        var published = false
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        for await item in stream {
            if ContinuousClock.now > deadline { break }
            guard case .events(let batch) = item else { continue }
            if String(buffer: batch.bytes).contains("\"cpu_usage_percent\":77.5") {
                published = true
                break
            }
        }
        #expect(published)
    }

    /// Two streams opening at once: the second's catch-up waits for the first's, so both replay the new documents,
    /// encoded once.
    @Test func catchUpsRunOneAtATime() async throws {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(cpu50))
        let hub = Self.hub(agent)
        await hub.update()  // events 1 and 2
        agent.apply("memory", .memory(memory))
        async let first: Void = hub.update(catchingUp: true)
        await hub.update(catchingUp: true)
        var replayed: [UInt64] = []
        for await item in try hub.subscribe(lastEventID: nil, maxEvents: 2) {
            if case .events(let batch) = item { replayed += batch.events.map(\.sequence) }
        }
        await first
        #expect(replayed == [3, 4])
    }

    @Test func resumptionReplaysWhatWasMissedOrTheLatestOfEachKind() {
        let events = (5...9).map { LiveStatusHub.Event(sequence: UInt64($0), kind: $0 == 7 ? .alerts : .status, frame: ByteBuffer(string: "\($0)")) }
        #expect(LiveStatusHub.replay(events, after: 6).map(\.sequence) == [7, 8, 9])
        #expect(LiveStatusHub.replay(events, after: 4).map(\.sequence) == [5, 6, 7, 8, 9])
        #expect(LiveStatusHub.replay(events, after: 9).isEmpty)
        // Too old (3 < 5 − 1) or unknown: the latest alerts event and the latest status event.
        #expect(LiveStatusHub.replay(events, after: 2).map(\.sequence) == [7, 9])
        #expect(LiveStatusHub.replay(events, after: nil).map(\.sequence) == [7, 9])
        #expect(LiveStatusHub.replay([], after: nil).isEmpty)
    }

    /// The frames written for one stream, until it ends.
    static func written(_ stream: AsyncStream<LiveStatusHub.Item>) async -> String {
        var text = ""
        for await item in stream {
            switch item {
            case .events(let batch): text += String(buffer: batch.bytes)
            case .keepAlive: text += ": keep-alive\n\n"
            case .end(let frame): text += String(buffer: frame)
            }
        }
        return text
    }

    /// A JWT's stream ends when the token expires, with an `event: error` in the API's error shape; a stream without a
    /// credential that expires stays.
    @Test func aStreamEndsWhenItsTokenExpires() async throws {
        let agent = FakeAgent()
        agent.apply("cpu", .cpu(cpu50))
        let hub = Self.hub(agent)
        await hub.update()
        let expiring = try hub.subscribe(lastEventID: nil, maxEvents: nil, credential: .init(expiresIn: .milliseconds(100)))
        let lasting = try hub.subscribe(lastEventID: nil, maxEvents: nil)
        let text = await Self.written(expiring)
        #expect(text.hasPrefix("id: \(hub.generation)-1\nevent: status\n"))
        #expect(text.hasSuffix("event: error\ndata: {\"error\":{\"code\":\"token_expired\",\"message\":\"the token expired; sign in again with a new one\"}}\n\n"))
        #expect(hub.clientCount == 1)
        _ = lasting
    }

    /// At a keep-alive, the streams whose credential is no longer accepted end; the others get the keep-alive.
    @Test func aStreamEndsWhenItsKeyIsRevoked() async throws {
        let agent = FakeAgent()
        let hub = Self.hub(agent)
        let accepted = Mutex(true)
        let revocable = try hub.subscribe(
            lastEventID: nil, maxEvents: nil, credential: .init(revoked: { accepted.withLock { $0 } ? nil : "the API key is no longer accepted" }))
        let other = try hub.subscribe(lastEventID: nil, maxEvents: 1)
        hub.keepAlive()
        accepted.withLock { $0 = false }
        hub.keepAlive()
        #expect(await Self.written(revocable) == ": keep-alive\n\nevent: error\ndata: {\"error\":{\"code\":\"credential_revoked\",\"message\":\"the API key is no longer accepted\"}}\n\n")
        #expect(hub.clientCount == 1)
        _ = other
    }

    @Test func streamsBeyondTheCapAre429() async throws {
        let agent = FakeAgent()
        let hub = Self.hub(agent, maxClients: 1)
        let held = try hub.subscribe(lastEventID: nil, maxEvents: nil)
        #expect(hub.clientCount == 1)
        var dependencies = agent.dependencies
        dependencies.liveStatus = hub
        try await Application(router: APIServer.buildRouter(dependencies: dependencies)).test(.router) { client in
            let refused = try await client.execute(uri: "/api/v1/stream", method: .get)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] == "5")
            let error = try #require(try json(refused.body)["error"] as? [String: String])
            #expect(error["code"] == "too_many_streams")
        }
        _ = held
    }

    @Test func withoutAHubTheStreamIs503() async throws {
        try await FakeAgent().application().test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/stream", method: .get)
            #expect(response.status == .serviceUnavailable)
        }
    }
}

/// `GET /api/v1/capacity` on a database holding three days of a filesystem growing 2 points a day.
struct CapacityRouteTests {
    @Test func theProjectedDateIsTheHandComputedOne() async throws {
        let now: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("viworks-capacity-\(UInt64.random(in: 0...UInt64.max))")
        let store = HistoryStore(database: try HistoryDatabase(path: directory.appendingPathComponent("history.db").path))
        let writer = HistoryWriter(store: store, bus: nil, settings: HistorySettings(), clock: ContinuousClock(), logger: Logger(label: "test"))
        // One sample at every half hour past the hour, 40 % three days ago (t0) + 2 points per day: the line reaches
        // 100 % 30 days after t0 = 2026-01-28T00:00:00Z.
        let t0 = now - 3 * 86_400_000
        for hour in 0..<72 {
            let time = t0 + Int64(hour) * 3_600_000 + 1_800_000
            writer.record(
                HistorySample(milliseconds: time, value: 40 + 2 * Double(time - t0) / 86_400_000),
                series: SeriesKey(name: MetricName.filesystemUsagePercent, labels: [MetricLabel("mountpoint", "/srv")]))
        }
        try await writer.flush()
        var dependencies = FakeAgent().dependencies
        dependencies.history = HistoryContext(store: store, settings: HistorySettings(), now: { Timestamp(nanosecondsSinceEpoch: now * 1_000_000) })
        try await Application(router: APIServer.buildRouter(dependencies: dependencies)).test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/capacity?window=7d", method: .get)
            #expect(response.status == .ok)
            let body = try json(response.body)
            #expect(body["window"] as? String == "7d")
            #expect(body["from"] as? String == "2025-12-25T00:00:00.000000000+00:00")
            let resources = try #require(body["resources"] as? [[String: Any]])
            #expect(resources.count == 1)
            let disk = try #require(resources.first)
            #expect(disk["resource"] as? String == "filesystem" && disk["mountpoint"] as? String == "/srv")
            #expect(disk["projected_full_at"] as? String == "2026-01-28T00:00:00.000000000+00:00")
            #expect(disk["slope_percent_per_day"] as? Double == 2)
            #expect(disk["current_percent"] as? Double == 45.958)
            #expect(disk["days_to_full"] as? Double == 27.021)
            #expect((disk["points"] as? [[Double]])?.count == 72)
            let bad = try await client.execute(uri: "/api/v1/capacity?window=1y", method: .get)
            #expect(bad.status == .badRequest)
        }
    }
}
