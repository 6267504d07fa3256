//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Locates the fixture trees beside this file and builds contexts for them.
enum Fixtures {
    /// `Tests/AgentCollectorsTests/Fixtures`, found from this source file's path.
    static let root: String = {
        let file = "\(#filePath)"
        guard let slash = file.lastIndex(of: "/") else { return "Fixtures" }
        return String(file[..<slash]) + "/Fixtures"
    }()

    /// A captured host tree (`Fixtures/hosts/<name>`).
    static func host(_ name: String) -> HostPaths {
        HostPaths(fixtureRoot: root + "/hosts/" + name)
    }

    /// The step directories of a multi-step case, in order (`step0`, `step1`, … `step10`).
    static func steps(_ collector: String, _ scenario: String) throws -> [HostPaths] {
        let base = root + "/cases/" + collector + "/" + scenario
        let names = try HostFile.list(base).filter { $0.hasPrefix("step") }
        let ordered = names.compactMap { name in Int(name.dropFirst(4)).map { ($0, name) } }.sorted { $0.0 < $1.0 }
        #expect(ordered.count == names.count, "every step directory is named stepN")
        return ordered.map { HostPaths(fixtureRoot: base + "/" + $0.1) }
    }

    /// A context for one collection; the monotonic clock of a replayed step is its `proc/uptime`.
    static func context(_ paths: HostPaths, monotonicSeconds: Double? = nil) -> CollectorContext {
        CollectorContext(
            paths: paths, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            timestamp: Timestamp(secondsSinceEpoch: 1_764_446_500),
            monotonicSeconds: monotonicSeconds ?? HostClock.uptimeSeconds(paths: paths) ?? 0)
    }

    /// The live host.
    static func live() -> CollectorContext {
        CollectorContext(
            paths: HostPaths(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            timestamp: Timestamp.now(), monotonicSeconds: HostClock.bootTimeSeconds())
    }
}

extension CollectorOutput {
    /// The value of the sample with this name and these labels (all of them), or nil.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in
            sample.name == name && labels.allSatisfy { key, value in sample.labels.contains { $0.name == key && $0.value == value } }
        }?.value
    }

    var cpu: CPUReport? { if case .cpu(let r)? = report { r } else { nil } }
    var memory: MemoryReport? { if case .memory(let r)? = report { r } else { nil } }
    var disk: DiskReport? { if case .disk(let r)? = report { r } else { nil } }
    var load: LoadReport? { if case .load(let r)? = report { r } else { nil } }
    var uptime: UptimeReport? { if case .uptime(let r)? = report { r } else { nil } }
    var network: NetworkReport? { if case .network(let r)? = report { r } else { nil } }
    var temperature: TemperatureReport? { if case .temperature(let r)? = report { r } else { nil } }
    var host: HostReport? { if case .host(let r)? = report { r } else { nil } }
}

/// Every sample has a help line, a name in Prometheus conventions and a finite value.
func expectWellFormed(_ output: CollectorOutput, sourceLocation: SourceLocation = #_sourceLocation) {
    for sample in output.samples {
        #expect(!sample.help.isEmpty, "\(sample.name) has no help", sourceLocation: sourceLocation)
        #expect(sample.name.hasPrefix("viworks_"), sourceLocation: sourceLocation)
        #expect(sample.value.isFinite, "\(sample.name) is \(sample.value)", sourceLocation: sourceLocation)
        if sample.kind == .counter {
            #expect(sample.name.hasSuffix("_total"), "counter \(sample.name) must end in _total", sourceLocation: sourceLocation)
        }
    }
}

/// A directory under /tmp removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/viworks-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HostFileError(path: "/tmp", errno: errno, operation: "mkdtemp") }
        path = String(cString: made)
    }

    func write(_ relative: String, _ text: String) throws {
        let full = path + "/" + relative
        var directory = ""
        for component in full.split(separator: "/").dropLast() {
            directory += "/" + component
            mkdir(directory, 0o755)
        }
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw HostFileError(path: full, errno: errno, operation: "open") }
        HostFile.writeAll(fd, Array(text.utf8))
        Glibc.close(fd)
    }

    deinit {
        var stack = [path]
        var directories: [String] = []
        while let next = stack.popLast() {
            directories.append(next)
            for name in (try? HostFile.list(next)) ?? [] {
                let full = next + "/" + name
                if unlink(full) != 0 { stack.append(full) }
            }
        }
        for directory in directories.reversed() { rmdir(directory) }
    }
}
