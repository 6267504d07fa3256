//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The work of one thread, passed through `pthread_create`'s context pointer.
private final class ThreadWork: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Starts a detached pthread running `body`; false when the thread cannot be created.
///
/// For calls that block in the kernel for an unknown time (a `statvfs` on a dead NFS server, `sd_journal_wait`):
/// on Linux, Swift concurrency and Dispatch share libdispatch's worker pool, which grows slowly once its threads
/// block, so such calls get a thread of their own instead.
public func spawnDetachedThread(stackSize: Int = 64 << 10, _ body: @escaping @Sendable () -> Void) -> Bool {
    let context = Unmanaged.passRetained(ThreadWork(body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    pthread_attr_setstacksize(&attributes, stackSize)
    var thread = pthread_t()
    let status = pthread_create(
        &thread, &attributes,
        { raw in
            guard let raw else { return nil }
            Unmanaged<ThreadWork>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, context)
    if status != 0 {
        Unmanaged<ThreadWork>.fromOpaque(context).release()
        return false
    }
    return true
}
