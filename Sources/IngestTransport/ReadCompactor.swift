import NIOCore

/// Hands HTTP/2 each read in a buffer of its own size. NIOSSL decrypts every record into one
/// 32 KiB buffer per connection and passes on slices of it; NIOHTTP2's frame decoder keeps the
/// last buffer it was handed while it waits for more bytes, so NIOSSL's next read finds its
/// buffer shared and allocates another 32 KiB. Copying each read (a few KB per request) leaves an
/// idle connection holding NIOSSL's buffer and one the size of its last read. Both ends use it:
/// the server's connections and ``HTTPClientConnection``'s (the fleet holds thousands).
final class ReadCompactor: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let chunk = 4096

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var read = unwrapInboundIn(data)
        while read.readableBytes > 0 {
            let slice = read.readSlice(length: min(read.readableBytes, Self.chunk))!
            var copy = context.channel.allocator.buffer(capacity: slice.readableBytes)
            copy.writeImmutableBuffer(slice)
            context.fireChannelRead(wrapInboundOut(copy))
        }
    }
}
