//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The pure parts of the journald handler; tests/systemd/test_journald.py reads real entries back from journald.
@Suite struct JournaldLogHandlerTests {
    /// sd_journal_sendv reports success when the socket is missing, so the socket is checked before journald is chosen.
    @Test func theJournalSocketIsCheckedBeforeJournaldIsChosen() throws {
        let missing = "/tmp/viworks-no-journal-\(getpid())/socket"
        #expect(JournaldLogHandler.journalSocketProblem(socketPath: missing) == "\(missing): No such file or directory")
        let listening = try NotifySocket()
        #expect(JournaldLogHandler.journalSocketProblem(socketPath: listening.path) == nil)
        #expect(JournaldLogHandler.journalSocketProblem(socketPath: "/tmp/" + String(repeating: "x", count: 200)) != nil)
    }

    @Test func fieldNames() {
        #expect(JournaldLogHandler.fieldName("collector") == "COLLECTOR")
        #expect(JournaldLogHandler.fieldName("plugin") == "PLUGIN")
        #expect(JournaldLogHandler.fieldName("request.id") == "REQUEST_ID")
        #expect(JournaldLogHandler.fieldName("backoff-seconds") == "BACKOFF_SECONDS")
        #expect(JournaldLogHandler.fieldName("sl-service") == "SL_SERVICE")
        #expect(JournaldLogHandler.fieldName("température") == "TEMPRATURE")
        #expect(JournaldLogHandler.fieldName("_PID") == "PID")
        #expect(JournaldLogHandler.fieldName("9lives") == "F_9LIVES")
        #expect(JournaldLogHandler.fieldName("message") == "META_MESSAGE")
        #expect(JournaldLogHandler.fieldName("priority") == "META_PRIORITY")
        #expect(JournaldLogHandler.fieldName("code.file") == "META_CODE_FILE")
        #expect(JournaldLogHandler.fieldName("é!") == nil)
        #expect(JournaldLogHandler.fieldName("___") == nil)
        #expect(JournaldLogHandler.fieldName(String(repeating: "a", count: 100))?.count == 64)
    }

    @Test func priorities() {
        let expected: [Logger.Level: Int] = [.trace: 7, .debug: 7, .info: 6, .notice: 5, .warning: 4, .error: 3, .critical: 2]
        for (level, priority) in expected { #expect(JournaldLogHandler.priority(level) == priority) }
    }

    @Test func journalStreamDetectionComparesDeviceAndInode() throws {
        let fd = open("/proc/self/exe", O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        #expect(JournaldLogHandler.isConnectedToJournal(journalStream: "\(info.st_dev):\(info.st_ino)", fileDescriptor: fd))
        #expect(!JournaldLogHandler.isConnectedToJournal(journalStream: "\(info.st_dev):\(info.st_ino + 1)", fileDescriptor: fd))
        #expect(!JournaldLogHandler.isConnectedToJournal(journalStream: nil, fileDescriptor: fd))
        #expect(!JournaldLogHandler.isConnectedToJournal(journalStream: "garbage", fileDescriptor: fd))
        #expect(!JournaldLogHandler.isConnectedToJournal(journalStream: "\(info.st_dev):\(info.st_ino)", fileDescriptor: -1))
    }

    @Test func levelControlChangesEveryLoggerThatDidNotSetItsOwn() {
        let control = LogLevelControl(.info)
        let records = Box<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])
        let logger = Logger(label: "a") { _ in LevelControlledLogHandler(RecordingLogHandler(records: records), control: control) }
        var own = logger
        own.logLevel = .error
        logger.debug("hidden")
        control.level = .debug
        logger.debug("shown")
        own.warning("hidden too")
        #expect(records.get.map(\.message) == ["shown"])
        #expect(logger.logLevel == .debug)
    }
}
