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

@Suite("PluginManifest")
struct PluginManifestTests {
    private let loader = PluginManifestLoader(defaults: PluginDefaults(checkOwnership: false))

    private func issues(_ text: String) -> [ConfigIssue] {
        switch loader.parse(text: text, file: "/etc/viworks-agent/plugins.d/x.toml") {
        case .success: return []
        case .failure(let error): return error.issues
        }
    }

    @Test func fullManifestResolvesRelativePathsAgainstItsDirectory() throws {
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        let script = fixturePlugin("poll.sh")
        let binDirectory = String(script[..<(script.lastIndex(of: "/") ?? script.endIndex)])
        let text = """
            name = "nginx"
            command = ["\(binDirectory)/../bin/./poll.sh", "./config.json", "--flag"]
            mode = "stream"
            interval = "15s"
            timeout = 2.5
            enabled = false
            max_line_bytes = 4096
            working_directory = "work"
            user = "nobody"
            group = "nogroup"

            [env]
            URL = "http://127.0.0.1/status"

            [restart]
            backoff_initial = "2s"
            backoff_max = "1m"
            max_restarts = 7
            stable_after = "5m"
            """
        let manifest = try loader.parse(text: text, file: directory.path + "/nginx.toml").get()
        #expect(manifest.name == "nginx")
        #expect(manifest.executable == script)
        #expect(manifest.arguments == [directory.path + "/config.json", "--flag"])
        #expect(manifest.mode == .stream)
        #expect(manifest.interval == .seconds(15))
        #expect(manifest.timeout == .milliseconds(2500))
        #expect(!manifest.enabled)
        #expect(manifest.maxLineBytes == 4096)
        #expect(manifest.workingDirectory == directory.path + "/work")
        #expect(manifest.user == "nobody")
        #expect(manifest.environment == ["URL": "http://127.0.0.1/status"])
        #expect(manifest.restart.backoffInitial == .seconds(2))
        #expect(manifest.restart.backoffMax == .seconds(60))
        #expect(manifest.restart.maxRestarts == 7)
        #expect(manifest.restart.stableAfter == .seconds(300))
    }

    @Test func defaultsAndPATHLookup() throws {
        let manifest = try loader.parse(text: "name = \"sh\"\ncommand = [\"sh\", \"-c\", \"true\"]\n", file: "/tmp/sh.toml").get()
        #expect(manifest.executable.hasSuffix("/sh"))
        #expect(manifest.mode == .poll)
        #expect(manifest.interval == .seconds(30))
        #expect(manifest.timeout == .seconds(10))
        #expect(manifest.enabled)
        #expect(manifest.maxLineBytes == 65_536)
        #expect(manifest.workingDirectory == "/tmp")
    }

    @Test func problemsCarryLineAndKey() {
        let found = issues(
            """
            name = "bad name!"
            command = "./plugin.sh --flag"
            mode = "pull"
            interval = "fast"
            max_line_bytes = 10
            colour = "red"

            [restart]
            max_restarts = -1
            """)
        #expect(found.map(\.key) == ["name", "command", "mode", "interval", "max_line_bytes", "colour", "restart.max_restarts"])
        #expect(found.map(\.line) == [1, 2, 3, 4, 5, 6, 9])
        #expect(found.first { $0.key == "mode" }?.message == "expected one of poll, stream, got \"pull\"")
        #expect(found.first { $0.key == "command" }?.message.contains("a shell string is not accepted") == true)
    }

    /// Several problems in one manifest come back together, each with its line and key, in the words of the
    /// configuration's value kinds (the same checks as `agent.toml`).
    @Test func aManifestWithSeveralErrorsReportsThemAll() {
        let found = issues(
            """
            name = 7
            command = ["./plugin.sh", 3]
            interval = "2d"
            timeout = "1ms"
            enabled = "yes"
            max_series = 0
            user = ""

            [env]
            "A=B" = "x"
            PORT = 80

            [restart]
            backoff_initial = "5s"
            backoff_max = "1s"
            wait = 1
            """)
        #expect(
            found.map { "\($0.line ?? 0) \($0.key): \($0.message)" } == [
                "1 name: expected a string, got 7",
                "2 command: expected a non-empty list of strings (argv)",
                "3 interval: must be at most 24h",
                "4 timeout: must be at least 10ms",
                "5 enabled: expected true or false, got \"yes\"",
                "6 max_series: 0 is out of range 1...100000",
                "7 user: expected a user name or uid",
                "10 env.A=B: expected a string value and a name without '='",
                "11 env.PORT: expected a string value and a name without '='",
                "15 restart.backoff_max: must not be smaller than backoff_initial",
                "16 restart.wait: unknown key (known: backoff_initial, backoff_max, max_restarts, stable_after)",
            ], "\(found)")
    }

    @Test func missingKeysAndBadCommands() {
        #expect(issues("").map(\.key) == ["command", "name"])
        #expect(issues("name = \"a\"\ncommand = [\"./missing.sh\"]\n").first?.message == "/etc/viworks-agent/plugins.d/missing.sh does not exist")
        #expect(issues("name = \"a\"\ncommand = [\"no-such-binary-xyz\"]\n").first?.message.hasPrefix("no-such-binary-xyz is not in PATH") == true)
        #expect(issues("name = [\n").first?.message.hasPrefix("TOML syntax") == true)
        #expect(issues("name = \"reload\"\ncommand = [\"sh\"]\n").first?.message == "\"reload\" is reserved (POST /api/v1/plugins/reload)")
    }

    @Test func badManifestIsSkippedAndTheOthersLoad() {
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        directory.write("a", manifestText(name: "a", script: "poll.sh"))
        directory.write("b", "name = \"b\"\nmode = 3\n")
        directory.write("c", manifestText(name: "a", script: "poll.sh"))
        let (manifests, problems) = PluginManifestLoader().loadDirectory(directory.path)
        #expect(manifests.map(\.name) == ["a"])
        #expect(problems.map(\.key) == ["mode", "command", "name"])
        #expect(problems.last?.message == "plugin \"a\" is already defined in \(directory.path)/a.toml")
    }

    @Test func writableOrForeignFilesAreRefused() throws {
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        directory.write("a", manifestText(name: "a", script: "poll.sh"))
        _ = chmod(directory.path + "/a.toml", 0o666)
        let (_, problems) = PluginManifestLoader().loadDirectory(directory.path)
        #expect(problems.first?.message == "refused: manifest \(directory.path)/a.toml is group- or world-writable (mode 666); run chmod go-w \(directory.path)/a.toml")

        _ = chmod(directory.path + "/a.toml", 0o644)
        _ = chmod(directory.path, 0o777)
        let (none, dirProblems) = PluginManifestLoader().loadDirectory(directory.path)
        #expect(none.isEmpty)
        #expect(dirProblems.first?.message.hasPrefix("refused: plugins directory \(directory.path) is group- or world-writable") == true)
        _ = chmod(directory.path, 0o755)

        if geteuid() == 0 {
            _ = chown(directory.path + "/a.toml", 65534, 65534)
            let (_, foreign) = PluginManifestLoader().loadDirectory(directory.path)
            #expect(foreign.first?.message.contains("is owned by uid 65534, which is neither root nor the agent's user") == true)
        }
    }

    @Test func notExecutableIsReportedUnlessDisabled() {
        let directory = TemporaryPluginDirectory()
        defer { directory.remove() }
        directory.write("data", "")
        let text = "name = \"a\"\ncommand = [\"./data.toml\"]\n"
        let found = issues(text.replacing("./data.toml", with: directory.path + "/data.toml"))
        #expect(found.first?.message.hasPrefix("\(directory.path)/data.toml is not executable") == true)
        #expect(issues("name = \"a\"\ncommand = [\"./not-built-yet\"]\nenabled = false\n").isEmpty)
    }

    @Test func missingDirectoryIsEmpty() {
        let (manifests, problems) = PluginManifestLoader().loadDirectory("/nonexistent/plugins.d")
        #expect(manifests.isEmpty)
        #expect(problems.isEmpty)
    }
}
