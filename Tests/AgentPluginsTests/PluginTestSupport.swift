//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentPlugins
import AgentRuntime
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Test plugins live in Fixtures/bin beside this file. Their mode is set to 0755 so that a checkout made
/// with a group-writable umask does not get them refused by the ownership check.
func fixturePlugin(_ name: String) -> String {
    let file = #filePath
    let directory = file[..<(file.lastIndex(of: "/") ?? file.endIndex)]
    let path = directory + "/Fixtures/bin/" + name
    _ = chmod(path, 0o755)
    return path
}

/// A fresh plugins directory (mode 0755) under /tmp, removed by `remove()`.
struct TemporaryPluginDirectory {
    let path: String

    init() {
        var template = Array("/tmp/viworks-plugins-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> String? in
            guard let base = buffer.baseAddress, mkdtemp(base) != nil else { return nil }
            return String(cString: base)
        }
        path = made ?? "/tmp/viworks-plugins-fallback"
        _ = chmod(path, 0o755)
    }

    /// Writes `name.toml` with the given manifest text.
    func write(_ name: String, _ text: String) {
        let file = path + "/" + name + ".toml"
        guard let handle = fopen(file, "w") else { return }
        _ = fputs(text, handle)
        fclose(handle)
        _ = chmod(file, 0o644)
    }

    func delete(_ name: String) {
        _ = unlink(path + "/" + name + ".toml")
    }

    func remove() {
        if let entries = try? HostFile.list(path) {
            for entry in entries { _ = unlink(path + "/" + entry) }
        }
        _ = rmdir(path)
    }
}

/// Manifest text for a fixture script.
func manifestText(
    name: String, script: String, mode: String = "poll", interval: String = "200ms", timeout: String = "10s", extra: String = ""
) -> String {
    """
    name = "\(name)"
    command = ["\(fixturePlugin(script))"]
    mode = "\(mode)"
    interval = "\(interval)"
    timeout = "\(timeout)"
    \(extra)
    [restart]
    backoff_initial = "50ms"
    backoff_max = "400ms"
    max_restarts = 3
    stable_after = "30s"
    """
}

/// Loads one manifest written with ``manifestText``; the plugin runs in /tmp (its directory is removed).
func loadManifest(_ text: String, name: String = "fixture") throws -> PluginManifest {
    let directory = TemporaryPluginDirectory()
    defer { directory.remove() }
    directory.write(name, text)
    var manifest = try PluginManifestLoader().load(file: directory.path + "/" + name + ".toml").get()
    manifest.workingDirectory = "/tmp"
    return manifest
}

let quietLogger = Logger(label: "plugin-tests") { _ in SwiftLogNoOpLogHandler() }

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(30), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// Resident set size of this process in KiB.
func residentKiB() -> Int {
    guard let text = HostFile.readIfPresent("/proc/self/status") else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return 0
}

/// Observations of a host, in order (test utility).
final class ObservationLog: Sendable {
    private let entries = Mutex<[(ContinuousClock.Instant, PluginObservation)]>([])

    var observer: @Sendable (PluginObservation) -> Void {
        { observation in self.entries.withLock { $0.append((ContinuousClock.now, observation)) } }
    }

    var all: [(ContinuousClock.Instant, PluginObservation)] { entries.withLock { $0 } }

    var startTimes: [ContinuousClock.Instant] {
        all.compactMap { entry in
            if case .started = entry.1 { return entry.0 }
            return nil
        }
    }
}

/// Runs `registry` while `body` runs, then stops it.
func withRunning<T>(_ registry: PluginRegistry, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await registry.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}
