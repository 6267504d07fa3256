//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import AgentServer
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `viworks-agent keys create`: a new API key, printed once; only its salted hash is kept.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage API keys.", subcommands: [CreateKeyCommand.self])
}

struct CreateKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an API key: print it once, and print (or append to --file) the hash line the agent needs.",
        discussion: """
            The key is shown once and stored nowhere. Give it to the client; keep only the hash in the configuration:
            either the [[auth.api_keys]] table printed here, or the `name role hash` line appended to --file
            (which [auth] api_key_file names).
            """
    )

    @Option(help: "viewer, operator or admin.")
    var role: String

    @Option(help: "The key's name: the client id in logs and rate limits (letters, digits, '-', '_', '.'). Default: key-<8 hex digits>.")
    var name: String?

    @Option(help: "Append `name role hash` to this key file (created with mode 0600 if missing).")
    var file: String?

    func validate() throws {
        guard AccessRole(name: role) != nil else { throw ValidationError("--role must be viewer, operator or admin, got '\(role)'") }
        if let name, !ConfigLoader.isValidKeyName(name) { throw ValidationError("--name must be 1-64 letters, digits, '-', '_' or '.'") }
    }

    func run() throws {
        let role = AccessRole(name: role) ?? .viewer
        let (key, hash) = APIKeyStore.generate()
        let name = self.name ?? "key-" + String(key.dropFirst(4).prefix(8))
        if let file {
            // A name is the client id in logs, audit records and rate limits: two keys must not share one.
            switch Self.existingEntry(named: name, in: file) {
            case .some(.success(let line)):
                printError("error: \(file):\(line): an API key named '\(name)' already exists; choose another --name, or remove that line to replace the key")
                throw ExitCode(1)
            case .some(.failure(let error)):
                printError("error: cannot read \(file): \(error.reason)")
                throw ExitCode(1)
            case nil:
                break
            }
            let line = "\(name) \(role) \(hash)\n"
            let descriptor = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                printError("error: cannot open \(file): \(String(cString: strerror(errno)))")
                throw ExitCode(1)
            }
            HostFile.writeAll(descriptor, Array(line.utf8))
            close(descriptor)
            print(key)
            printError("API key '\(name)' (\(role)) appended to \(file). The key above is shown once and stored nowhere.")
        } else {
            print(key)
            printError("API key '\(name)' (\(role)): the key above is shown once and stored nowhere. Add its hash to agent.toml:")
            print("""

                [[auth.api_keys]]
                name = "\(name)"
                role = "\(role)"
                hash = "\(hash)"
                """)
        }
    }

    /// The line of `file` that already defines `name` (`.success`), a read error other than a missing file
    /// (`.failure`), or nil when the name is free.
    static func existingEntry(named name: String, in file: String) -> Result<Int, HostFileError>? {
        let text: String
        do {
            text = try HostFile.read(file, limit: 1 << 20)
        } catch {
            return error.errno == ENOENT ? nil : .failure(error)
        }
        return ConfigLoader.keyFileLines(text).first { $0.fields.first == name }.map { .success($0.line) }
    }
}
