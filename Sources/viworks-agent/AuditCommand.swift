//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import ArgumentParser

/// `viworks-agent audit verify`: recomputes the audit log's hash chain.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Inspect the audit log.", subcommands: [AuditVerifyCommand.self])
}

struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute the audit log's hash chain; exit 1 and name the first record that does not verify.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "The audit database (default: <state_directory>/audit.sqlite).")
    var file: String?

    func run() async throws {
        let path: String
        if let file {
            path = file
        } else {
            do {
                path = Agent.auditPath(try options.load(environment: ProcessEnvironment.current))
            } catch {
                for issue in error.issues { printError("error: \(issue)") }
                throw ExitCode(78)
            }
        }
        guard HostFile.exists(path) else {
            printError("error: \(path) does not exist")
            throw ExitCode(1)
        }
        do {
            let verification = try AuditLog(path: path, journal: false).verify()
            print(verification.description)
            if !verification.isIntact { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("error: cannot read \(path): \(error)")
            throw ExitCode(1)
        }
    }
}
