//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import Glibc

/// The configuration loader on a file holding the input (TOML text → AgentConfiguration or a ConfigError, never a
/// crash). Invariant: a refused file names at least one problem, and every problem located in the file has a line
/// within it.
struct ConfigurationTarget: FuzzTarget {
    let loader = ConfigLoader(collectors: CollectorCatalog.configSchemas)
    let path: String

    init() {
        var template = Array("/tmp/viworks-fuzz-config.XXXXXX".utf8CString)
        guard let directory = mkdtemp(&template) else { fatalError("mkdtemp: errno \(errno)") }
        path = String(cString: directory) + "/agent.toml"
    }

    func run(_ input: UnsafeRawBufferPointer) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("open \(path): errno \(errno)") }
        if let base = input.baseAddress {
            var written = 0
            while written < input.count {
                let n = write(fd, base + written, input.count - written)
                guard n > 0 else { fatalError("write \(path): errno \(errno)") }
                written += n
            }
        }
        close(fd)
        let lines = input.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        do {
            _ = try loader.loadWithWarnings(path: path, environment: [:])
        } catch {
            if error.issues.isEmpty { fatalError("a configuration was refused without a problem") }
            for issue in error.issues where issue.source == path {
                if let line = issue.line, !(1...lines).contains(line) {
                    fatalError("problem on line \(line) of a \(lines)-line file: \(issue)")
                }
            }
        }
    }
}
