//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import FoundationEssentials
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Settings that name things on the host (files, directories, sockets, users, units, the time zone) are checked
/// against the host when the configuration is read, each problem on its key's line, instead of failing later at
/// every use.
struct ConfigFileChecksTests {
    let helper = ConfigLoaderTests()

    /// A new directory under /tmp, holding a regular file `file`, a directory `directory` and a Unix socket `socket`.
    private func scratch() throws -> String {
        var template = Array("/tmp/viworks-checks-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        try #require(made != nil)
        let root = String(cString: template)
        let file = helper.file("text\n")
        try #require(rename(file, root + "/file") == 0)
        try #require(mkdir(root + "/directory", 0o755) == 0)
        let socket = try helper.unixSocket()
        try #require(rename(socket, root + "/socket") == 0)
        return root
    }

    private func remove(_ root: String) {
        for name in ["file", "socket", "directory/history.db"] { unlink(root + "/" + name) }
        rmdir(root + "/directory")
        rmdir(root)
    }

    private func found(_ text: String, environment: [String: String] = [:]) -> [String] {
        helper.issues(text, environment: environment).map {
            ($0.source == "F" ? "" : $0.source + " ") + "\($0.line.map(String.init) ?? "-") \($0.key): \($0.message)"
        }
    }

    /// The warnings of loading `text`, which must load.
    private func warnings(_ text: String) throws -> [String] {
        let path = helper.file(text)
        defer { unlink(path) }
        return try helper.loader.loadWithWarnings(path: path, environment: [:]).warnings.map { "\($0.line.map(String.init) ?? "-") \($0.key): \($0.message)" }
    }

    @Test func theStateDirectoryAndTheHistoryDatabaseMustBeWhereFilesCanBeMade() throws {
        let root = try scratch()
        defer { remove(root) }
        #expect(
            found(
                """
                [agent]
                state_directory = "\(root)/file"
                [history]
                path = "\(root)/directory"
                """) == [
                    "2 agent.state_directory: \(root)/file is not a directory",
                    "4 history.path: \(root)/directory is a directory: name the database file in it, such as \(root)/directory/history.db",
                ])
        // A directory not made yet is fine; one below a regular file or on procfs can never be made.
        #expect(found("[agent]\nstate_directory = \"\(root)/directory/not/yet\"\n[history]\npath = \"\(root)/new/history.db\"\n") == [])
        #expect(found("[agent]\nstate_directory = \"\(root)/file/state\"\n") == ["2 agent.state_directory: \(root)/file is not a directory"])
        #expect(found("[history]\npath = \"\(root)/file/history.db\"\n") == ["2 history.path: \(root)/file is not a directory"])
        #expect(found("[agent]\nstate_directory = \"/proc/viworks\"\n") == ["2 agent.state_directory: /proc is on procfs, where no file can be made"])
        #expect(found("[agent]\nstate_directory = \"/sys/kernel\"\n") == ["2 agent.state_directory: /sys/kernel is on sysfs, where no file can be made"])
        #expect(found("[agent]\nstate_directory = \"\(root)/directory\"\n[history]\npath = \"\(root)/directory/history.db\"\n") == [])
        #expect(found("[history]\npath = \"/dev/null\"\n") == ["2 history.path: /dev/null is not a regular file"])
        // A link to nothing: mkdir would find it in the way.
        #expect(symlink(root + "/gone", root + "/dangling") == 0)
        defer { unlink(root + "/dangling") }
        #expect(found("[agent]\nstate_directory = \"\(root)/dangling/state\"\n") == ["2 agent.state_directory: \(root)/dangling is a symbolic link to a missing target"])
        // A value from the environment is blamed on its variable, not on a line of the file.
        #expect(
            found("[agent]\ninterval = \"30s\"\n", environment: ["VIWORKS_AGENT_STATE_DIRECTORY": root + "/file"]) == [
                "environment - VIWORKS_AGENT_STATE_DIRECTORY: \(root)/file is not a directory"
            ])
    }

    @Test func theEngineSocketIsASocketOrNotThereYet() throws {
        let root = try scratch()
        defer { remove(root) }
        #expect(found("[containers]\nsocket = \"\(root)/socket\"\n") == [])
        #expect(found("[containers]\nsocket = \"\(root)/docker.sock\"\n") == [], "the engine may start after the agent")
        let notSocket = "is not a socket (the engine's API socket, such as /var/run/docker.sock)"
        #expect(found("[containers]\nsocket = \"\(root)/file\"\n") == ["2 containers.socket: \(root)/file \(notSocket)"])
        #expect(found("[containers]\nenabled = true\nsocket = \"\(root)/directory\"\n") == ["3 containers.socket: \(root)/directory \(notSocket)"])
        #expect(found("[containers]\nenabled = false\nsocket = \"\(root)/file\"\n") == [], "not looked at when off")
        // sun_path holds 107 bytes and the terminating NUL.
        let long = "/" + String(repeating: "s", count: 107)
        #expect(found("[containers]\nsocket = \"\(long)\"\n") == ["2 containers.socket: must be at most 107 bytes (a Unix socket address's limit), got 108"])
        #expect(found("[containers]\nsocket = \"\(long.dropLast())\"\n") == [])
        #expect(found("[containers]\nenabled = false\nsocket = \"\(long)\"\n") == [], "not looked at when off")
        #expect(found("[containers]\nsocket = \"\(root)/file/docker.sock\"\n") == ["2 containers.socket: \(root)/file is not a directory"])
    }

    @Test func aCommandsExecutableUserAndGroupExistOnTheHost() throws {
        let root = try scratch()
        defer { remove(root) }
        #expect(
            found(
                """
                [commands.missing]
                executable = "/usr/bin/no-such-tool"
                [commands.text]
                executable = "\(root)/file"
                [commands.folder]
                executable = "\(root)/directory"
                [commands.nobody]
                executable = "/bin/echo"
                user = "no-such-user-viworks"
                group = "no-such-group-viworks"
                [commands.numeric]
                executable = "/bin/echo"
                user = "4242420"
                [commands.fine]
                executable = "/bin/echo"
                user = "root"
                group = "0"
                [commands.numeric-with-group]
                executable = "/bin/echo"
                user = "4242420"
                group = "0"
                """) == [
                    "4 commands.text.executable: \(root)/file is not an executable file",
                    "6 commands.folder.executable: \(root)/directory is not an executable file",
                    "9 commands.nobody.user: unknown user \"no-such-user-viworks\" on this host",
                    "10 commands.nobody.group: unknown group \"no-such-group-viworks\" on this host",
                    "13 commands.numeric.user: unknown user \"4242420\" on this host (a user without a group needs a passwd entry for its primary group)",
                ])
        // A program this host lacks is a warning: a configuration shared by many hosts still starts, and the command
        // answers 409 unavailable here.
        #expect(
            try warnings("[commands.missing]\nexecutable = \"/usr/bin/no-such-tool\"\n") == [
                "2 commands.missing.executable: /usr/bin/no-such-tool does not exist on this host: the command answers 409 unavailable until it does"
            ])
        // With commands off, nothing of them is looked at.
        #expect(found("[commands]\nenabled = false\n[commands.folder]\nexecutable = \"\(root)/directory\"\nuser = \"no-such-user-viworks\"\n") == [])
    }

    @Test func logUnitsAndServiceUnitsAreUnitNames() {
        let only = "may contain only letters, digits, ':', '_', '.', '@', '-' and \\xNN escapes"
        #expect(
            found(
                #"""
                [logs]
                units = ["cron", "ssh.service", "getty@tty1.service", "systemd-fsck@dev-disk-by\\x2duuid-1234.service", "a b", "", "x/y", "../etc", "foo.", ".service", "a\\y00.service"]
                [services.web]
                units = ["web", "web@*.service", "web service.service", "systemd-cryptsetup@luks\\x2dabc.service"]
                process_names = ["web"]
                """#) == [
                    "2 logs.units: \"a b\" is not a unit name such as \"cron.service\" or \"cron\": it \(only)",
                    "2 logs.units: \"\" is not a unit name such as \"cron.service\" or \"cron\": it is empty",
                    "2 logs.units: \"x/y\" is not a unit name such as \"cron.service\" or \"cron\": it looks like a path, not a unit name",
                    "2 logs.units: \"../etc\" is not a unit name such as \"cron.service\" or \"cron\": it looks like a path, not a unit name",
                    "2 logs.units: \"foo.\" is not a unit name such as \"cron.service\" or \"cron\": it ends with a '.'",
                    "2 logs.units: \".service\" is not a unit name such as \"cron.service\" or \"cron\": it has an empty part before a '.'",
                    #"2 logs.units: "a\y00.service" is not a unit name such as "cron.service" or "cron": it looks like a path, not a unit name (a '\' starts only a \xNN escape)"#,
                    "4 services.web.units: \"web\" is not a unit name such as \"nginx.service\" or \"postgresql@*.service\": it has no type suffix such as .service",
                    "4 services.web.units: \"web service.service\" is not a unit name such as \"nginx.service\" or \"postgresql@*.service\": it \(only) "
                        + "(and the globs * ? [ ])",
                ])
        #expect(SystemdUnitName.problem(String(repeating: "u", count: 251) + ".mnt") == nil)
        #expect(SystemdUnitName.problem(String(repeating: "u", count: 252) + ".mnt") == "is longer than 255 bytes")
        #expect(SystemdUnitName.problem("a\u{7}.service") == "looks like a path, not a unit name")
        #expect(SystemdUnitName.problem(#"dev-disk-by\x2duuid-1234.device"#) == nil)
        #expect(SystemdUnitName.problem(#"a\x2.service"#) == #"looks like a path, not a unit name (a '\' starts only a \xNN escape)"#)
    }

    @Test func aJWTTableWithoutAKeyIsAnError() {
        #expect(
            found("[auth.jwt]\nissuer = \"https://id.example\"\naudience = \"agents\"\n") == [
                "1 auth.jwt: [auth.jwt] needs hs256_secret_file or public_key_files: without a key no token can be verified and the table is ignored"
            ])
        #expect(found("[auth.jwt]\n") == [], "an empty table configures nothing")
        // A key written with its default value is still a sign that JWT was meant.
        #expect(found("[auth.jwt]\nrole_claim = \"role\"\n").count == 1)
        #expect(found("[auth]\njwt.leeway = \"30s\"\n").count == 1)
    }

    @Test func theHostsTimeZoneIsTakenFromTZAsTheCLibraryReadsIt() {
        func zone(_ tz: String?) -> String { ReportSettings.hostTimeZone(tz: tz).zone.identifier }
        #expect(zone("Europe/Berlin") == "Europe/Berlin")
        #expect(zone(":Europe/Berlin") == "Europe/Berlin")
        #expect(zone("/usr/share/zoneinfo/America/New_York") == "America/New_York")
        #expect(zone(":/usr/share/zoneinfo/Asia/Kolkata") == "Asia/Kolkata")
        #expect(zone("EST5EDT") == "EST5EDT", "a name in the zone database, though it looks like a rule")
        #expect(ReportSettings.hostTimeZone(tz: "").zone.secondsFromGMT() == 0 && ReportSettings.hostTimeZone(tz: "").problem == nil)
        #expect(ReportSettings.hostTimeZone(tz: ":").problem == nil)
        #expect(ReportSettings.hostTimeZone(tz: "Europe/Berlin").problem == nil)
        let link = "/tmp/viworks-zone-link-\(getpid())"
        #expect(symlink("/usr/share/zoneinfo/Europe/Berlin", link) == 0)
        defer { unlink(link) }
        #expect(zone(":" + link) == "Europe/Berlin", "a link to a zone file, as /etc/localtime")
        let linkToLink = link + "-2"
        #expect(symlink(link, linkToLink) == 0)
        defer { unlink(linkToLink) }
        #expect(zone(linkToLink) == "Europe/Berlin", "links followed to the end")
        #expect(zone("/usr/share/zoneinfo//Europe/Berlin") == "Europe/Berlin")
        #expect(zone("/usr/share/zoneinfo/right/Europe/Berlin") == "Europe/Berlin")
        if HostFile.readLink("/usr/share/zoneinfo/posixrules") == "America/New_York" {
            #expect(zone("posixrules") == "America/New_York", "a name of the zoneinfo directory that is a link")
        }
        for unknown in ["CET-1CEST,M3.5.0,M10.5.0/3", "Europe/Berlim", "/tmp/no-such-zone-file"] {
            let (resolved, problem) = ReportSettings.hostTimeZone(tz: unknown)
            #expect(resolved.secondsFromGMT() == 0)
            #expect(
                problem == "\"\(unknown)\" names no time zone the agent knows (an IANA name such as Europe/Berlin, or a path under "
                    + "/usr/share/zoneinfo): reports use UTC; set [reports] time_zone")
        }
    }

    @Test func addressesAreWrittenWithIPv6InBrackets() throws {
        #expect(HostName.endpoint("::1", 9740) == "[::1]:9740")
        #expect(HostName.endpoint("fe80::1%eth0", 80) == "[fe80::1%eth0]:80")
        #expect(HostName.endpoint("127.0.0.1", 9740) == "127.0.0.1:9740")
        let path = helper.file("[server]\nlisten = \"[::1]:9740\"\n")
        defer { unlink(path) }
        #expect(try helper.loader.load(path: path, environment: [:]).server.listen == "[::1]:9740")
        // A port is decimal digits.
        #expect(found("[server]\nlisten = \"127.0.0.1:+80\"\n") == ["2 server.listen: expected host:port with a port in 0...65535, got \"127.0.0.1:+80\""])
        #expect((try? ServiceProbeSpec.parse("tcp://127.0.0.1:+22").get()) == nil)
        #expect((try? ServiceProbeSpec.parse("tcp://127.0.0.1:022").get())?.port == 22)
        // Without brackets an IPv6 address and its port cannot be told apart.
        if case .failure(let error) = ServiceProbeSpec.parse("tcp://::1:80") {
            #expect(error.reason == "expected host:port, an IPv6 address as [ipv6]:port")
        } else {
            Issue.record("tcp://::1:80 was accepted")
        }
    }
}
