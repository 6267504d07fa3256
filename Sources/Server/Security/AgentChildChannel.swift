//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTPTypes
import NIOSSL

/// The server's child channel: a request timeout for slow clients, TLS with the context current at accept time (so
/// a certificate reload needs no new listener), then Hummingbird's HTTP/1 channel.
public struct AgentChildChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    public typealias Value = BaseChannel.Value

    let base: BaseChannel
    let tls: TLSContextProvider?
    let requestTimeout: TimeAmount?

    public init(_ base: BaseChannel, tls: TLSContextProvider?, requestTimeout: TimeAmount?) {
        self.base = base
        self.tls = tls
        self.requestTimeout = requestTimeout
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            if let requestTimeout {
                try channel.pipeline.syncOperations.addHandler(RequestTimeoutHandler(timeout: requestTimeout))
            }
            if let tls {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
            }
        }.flatMap {
            self.base.setup(channel: channel, logger: logger)
        }
    }

    public func handle(value: BaseChannel.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes a connection whose client started sending (a request, or a TLS handshake) and did not finish its request
/// within `timeout`: a client trickling a request byte by byte cannot hold a connection forever. The clock starts at
/// the first bytes received while no request is incomplete and stops when ``RequestEndHandler`` sees the request's
/// end; the time the agent takes to answer does not count (a synchronous command may run longer).
final class RequestTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if timer == nil {
            let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                loopBoundContext.value.close(promise: nil)
            }
        }
        context.fireChannelRead(data)
    }

    /// A whole request arrived: the client was fast enough.
    func requestReceived() {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        requestReceived()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requestReceived()
    }
}

/// After HTTP decoding: tells the connection's ``RequestTimeoutHandler`` when a request's end arrived.
final class RequestEndHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private var timeoutHandler: RequestTimeoutHandler?

    func handlerAdded(context: ChannelHandlerContext) {
        timeoutHandler = try? context.pipeline.syncOperations.handler(type: RequestTimeoutHandler.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) { timeoutHandler?.requestReceived() }
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension RequestEndHandler: Sendable {}

@available(*, unavailable)
extension RequestTimeoutHandler: Sendable {}
