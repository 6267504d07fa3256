//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentCollectors
import AgentRuntime
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `capture --out FILE.tar.gz [--with-processes]`: the host files the collectors read, two samples a second apart, for a
/// bug report that `collect --root` replays on any machine.
struct CaptureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Write the /proc, /sys and /etc files the collectors read, two samples a second apart, into a .tar.gz.",
        discussion: """
            The archive holds \(Self.top)/sample-1 and \(Self.top)/sample-2 (each with proc/, sys/ and etc/ as the \
            collectors read them, and the statvfs answers of the mounts) and a README. Replay it with \
            `tar -xzf FILE && viworks-agent collect --json --root \(Self.top)/sample-1 --root \(Self.top)/sample-2`. \
            Processes' command lines are left out unless --with-processes (they may hold secrets); no process \
            environment is ever read or written.
            """
    )

    /// The archive's top folder.
    static let top = "viworks-capture"

    @Option(name: .long, help: "The archive to write (gzip-compressed tar).")
    var out: String

    @Flag(name: .customLong("with-processes"), help: "Also capture processes' command lines.")
    var withProcesses = false

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration: AgentConfiguration
        do {
            configuration = try options.load(environment: ProcessEnvironment.current)
        } catch {
            for issue in error.issues { printError("error: \(issue)") }
            throw ExitCode(78)
        }
        // Every built-in collector, enabled or not: the report may be about enabling one.
        let collectors = CollectorCatalog.builtins(configuration: configuration)
        let reads = collectors.flatMap(\.descriptor.reads)
        let output = Self.absolute(out)
        guard let slash = output.lastIndex(of: "/") else { throw ExitCode(1) }
        let directory = slash == output.startIndex ? "/" : String(output[..<slash])
        var template = Array(HostPaths.join(directory, ".viworks-capture-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            printError("error: \(directory): cannot make a working directory: \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
        let work = String(cString: made)
        defer { HostCapture.removeTree(work) }
        let top = HostPaths.join(work, Self.top)
        var files = 0
        var unreadable = 0
        do {
            for sample in 1...2 {
                if sample > 1 { try await Task.sleep(for: .seconds(1)) }
                let tree = HostPaths(fixtureRoot: HostPaths.join(top, "sample-\(sample)"))
                let copied = try HostCapture.copy(reads, from: configuration.paths, into: tree, includePrivate: withProcesses)
                for case let recorder as any RecordsSystemCalls in collectors {
                    try await recorder.record(from: configuration.paths, into: tree)
                }
                files += copied.files
                unreadable += copied.unreadable
            }
            try HostFile.replaceContents(HostPaths.join(top, "README"), Array(readme.utf8))
            try await HostCapture.archive(directory: top, to: output)
        } catch {
            printError("error: capture: \(error)")
            throw ExitCode(1)
        }
        printError(
            "wrote \(out): \(files) files in 2 samples\(unreadable > 0 ? " (\(unreadable) unreadable files left out)" : "")"
                + "\(withProcesses ? ", with processes' command lines" : ", without processes' command lines")")
    }

    private var readme: String {
        """
        Captured by viworks-agent \(AgentCommand.version) `capture` at \(Timestamp.now()) from \(options.procRoot ?? "/proc"), \
        \(options.sysRoot ?? "/sys") and \(options.rootfs ?? "/").
        Processes' command lines: \(withProcesses ? "included" : "left out").
        Replay: viworks-agent collect --json --root \(Self.top)/sample-1 --root \(Self.top)/sample-2

        """
    }

    /// `path` made absolute against the working directory.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" + path }
        return HostPaths.join(String(cString: buffer), path)
    }
}
