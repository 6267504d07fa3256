//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import ServiceLifecycle

/// The background command jobs (`POST /api/v1/command` with `"async": true`), each a child task of this service's task
/// group: nothing outlives the agent untracked. Shutdown stops taking jobs and cancels the running ones: a job's
/// process group is killed, its result says so (``CommandResult/cancelled``, reported as `timed_out`) and its end is
/// written to the audit log before ``run()`` returns.
///
/// Jobs submitted before the service runs wait for it; wire it before the HTTP server, so that the server stops first
/// (no new jobs) and the jobs are cancelled after.
public final class CommandJobs: Service, Sendable {
    public typealias Job = @Sendable () async -> Void

    private let stream: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Job.self)
    }

    /// Queues `job`; false once shutdown began (the job is not run).
    public func submit(_ job: @escaping Job) -> Bool {
        if case .enqueued = continuation.yield(job) { return true }
        return false
    }

    /// Runs the jobs until shutdown, then cancels those still running and waits for them to end.
    public func run() async {
        let continuation = self.continuation
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await job in stream { group.addTask { await job() } }
            } onGracefulShutdown: {
                continuation.finish()
            }
            group.cancelAll()
        }
    }
}
