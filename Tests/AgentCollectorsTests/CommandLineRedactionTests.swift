//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

@testable import AgentCollectors
import AgentRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct CommandLineRedactionTests {
    func redact(_ line: String) -> String {
        CommandLineRedaction.redact(line.split(separator: " ").map(String.init)).joined(separator: " ")
    }

    @Test func valuesOfSecretLookingArgumentsAreMaskedInEveryForm() {
        #expect(redact("app --db-password=hunter2 --port=5432") == "app --db-password=*** --port=5432")
        #expect(redact("app --token abc --verbose") == "app --token *** --verbose")
        #expect(redact("env PASSWORD=x HOME=/root") == "env PASSWORD=*** HOME=/root")
        #expect(redact("java -Dapi.Secret=s3 -jar x.jar") == "java -Dapi.Secret=*** -jar x.jar")
        #expect(redact("mysqld --passwd=a --pwd=b --pass=c --client-credential=d --Auth-Header=e --ssh-key=f") ==
            "mysqld --passwd=*** --pwd=*** --pass=*** --client-credential=*** --Auth-Header=*** --ssh-key=***")
        #expect(redact("tool -token 123 -secret 456 x") == "tool -token *** -secret *** x")
        #expect(redact("helm --set auth.token=abc") == "helm --set auth.token=***")
        // A secret option followed by another long option has no value to hide; the last argument has none either.
        #expect(redact("app --password --verbose --token") == "app --password --verbose --token")
        // Values that merely contain the words are not names.
        #expect(redact("grep password /etc/passwd") == "grep password /etc/passwd")
        #expect(redact("app --user=alice --mode=fast run") == "app --user=alice --mode=fast run")
    }

    @Test func passwordsInURLsAreMasked() {
        #expect(redact("psql postgres://app:hunter2@db:5432/x") == "psql postgres://app:***@db:5432/x")
        #expect(redact("app --url=https://u:p@h/p?q=1") == "app --url=https://u:***@h/p?q=1")
        #expect(redact("curl https://user@h/x http://h:80/a@b") == "curl https://user@h/x http://h:80/a@b")
        #expect(redact("sync a://u:1@h b://v:2@g") == "sync a://u:***@h b://v:***@g")
    }

    @Test func secretNamesAreCaseInsensitive() {
        #expect(CommandLineRedaction.isSecretName("--DB_PASSWORD"))
        #expect(CommandLineRedaction.isSecretName("X-Api-Key"))
        #expect(!CommandLineRedaction.isSecretName("--port"))
        // The word at either end, the whole name, and names shorter than every word.
        #expect(CommandLineRedaction.isSecretName("MY_TOKEN"))
        #expect(CommandLineRedaction.isSecretName("AuthHeader"))
        #expect(CommandLineRedaction.isSecretName("key"))
        #expect(CommandLineRedaction.isSecretName("-PaSsWd"))
        #expect(!CommandLineRedaction.isSecretName("ke"))
        #expect(!CommandLineRedaction.isSecretName(""))
        #expect(!CommandLineRedaction.isSecretName("--tokn"))
    }

    @Test func aSchemeSeparatorAnywhereIsLookedAt() {
        #expect(redact("x ://u:p@h") == "x ://u:***@h")
        #expect(redact("x :// :/ //") == "x :// :/ //")
        #expect(redact("x a:/b//c@d") == "x a:/b//c@d")
    }

    @Test func theProcessesCollectorShowsMaskedCommandLinesCutAfterMasking() throws {
        var template = Array("/tmp/viworks-proc-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) } }
        let root = try #require(made)
        mkdir(root + "/42", 0o755)
        defer {
            unlink(root + "/42/cmdline")
            rmdir(root + "/42")
            rmdir(root)
        }
        let filler = String(repeating: "x", count: 600)
        let argv = ["/usr/bin/app", "--db-password=hunter2", "--token", "abc", "PASSWORD=x", filler, "--api-key=late"]
        let bytes = Array(argv.joined(separator: "\0").utf8) + [0]
        let fd = open(root + "/42/cmdline", O_WRONLY | O_CREAT, 0o644)
        HostFile.writeAll(fd, bytes)
        close(fd)
        let reader = try ProcFileReader(root: root)
        // What the collector lists for the process.
        var descriptions = ProcessDescriptions()
        let process = ProcessStat(pid: 42, comm: "app", state: UInt8(ascii: "S"), ppid: 1, cpuTicks: 0, threads: 1, startTicks: 1, rssPages: 0)
        let shown = descriptions.describe(process, reader: reader, monotonicSeconds: 0).command
        #expect(shown.hasPrefix("/usr/bin/app --db-password=*** --token *** PASSWORD=*** xxx"))
        #expect(shown.utf8.count == 512)
        #expect(!shown.contains("hunter2") && !shown.contains("abc") && !shown.contains("late"))
        // The services collector still matches on the real command line.
        #expect(reader.commandLine(42, limit: 4096)?.contains("--db-password=hunter2") == true)
        #expect(ProcFileReader.prefix("aé", maxBytes: 2) == "a")
    }
}
