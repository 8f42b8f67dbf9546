import NIOCore
import NIOHTTP1
import TurnpikePlugins
import TurnpikeRouter

/// The request head sent upstream, written once per request straight into bytes: the request
/// line (the joined path percent-encoded as it is written, then the client's query as it came or
/// a plugin's replacement) and the header lines of `HeaderRules.writeUpstreamHeaders`.
///
/// It remembers where the `Host` value sits when that value depends on the target, so a retry
/// that moves to another target sends that target's Host, as Kong's balancer phase does
/// (kong/runloop/balancer/init.lua, `set_host_header`).
struct UpstreamRequestHead {
    private(set) var bytes: ByteBuffer
    /// Where the `Host` value sits in `bytes`; nil when it does not change with the target.
    private var hostValue: Range<Int>?

    /// Writes the head into `buffer` (the connection's, reused from head to head; see
    /// `HeadWriter.write(into:)`). `query`: nil keeps the client's (from `uri[queryStart...]`),
    /// empty drops it, anything else replaces it. `hostFollowsTarget`: the Host was computed from
    /// the target.
    init(
        buffer: inout ByteBuffer,
        allocator: ByteBufferAllocator,
        client head: RequestHead,
        path: UpstreamPath.Parts,
        queryStart: String.Index?,
        query: String?,
        forwarding: HeaderRules.Forwarding,
        edits: UpstreamEdits?,
        hostFollowsTarget: Bool
    ) {
        let uri = head.uri
        var hostValue = 0..<0
        // Room for the gateway's own headers and the plugins' edits: one pass in the usual case.
        var added = 0
        for (name, value) in edits?.set ?? [] { added += name.utf8.count + value.utf8.count + 4 }
        HeadWriter.write(
            into: &buffer,
            allocator: allocator,
            capacity: 384 + 3 * path.count + uri.utf8.count + (query?.utf8.count ?? 0) + head.bytes.readableBytes
                + added
        ) { writer in
            writer.raw(edits?.method ?? head.method.rawValue)
            writer.byte(UInt8(ascii: " "))
            if let replaced = edits?.path {
                writer.percentEncoded(Array(replaced.utf8)[...], keeping: HeaderRules.isPathSafe)
            } else {
                writer.percentEncoded(path.head, keeping: HeaderRules.isPathSafe)
                if path.slash { writer.byte(UInt8(ascii: "/")) }
                writer.percentEncoded(path.tail, keeping: HeaderRules.isPathSafe)
            }
            if let query {
                if !query.isEmpty {
                    writer.byte(UInt8(ascii: "?"))
                    writer.raw(query)
                }
            } else if let queryStart {
                writer.raw(uri[queryStart...])
            }
            writer.raw(" HTTP/1.1\r\n")
            hostValue = HeaderRules.writeUpstreamHeaders(
                into: &writer,
                client: head,
                forwarding: forwarding,
                edits: edits
            )
        }
        self.bytes = buffer
        self.hostValue = hostFollowsTarget ? hostValue : nil
    }

    /// Whether the `Host` value changes with the target (a retry rewrites it).
    var hostFollowsTarget: Bool { self.hostValue != nil }

    /// Rewrites the `Host` value for a new target (a retry); a no-op when the Host does not
    /// follow the target or is already `host`.
    mutating func retarget(host: String, allocator: ByteBufferAllocator) {
        guard let range = self.hostValue else { return }
        let old = self.bytes
        let start = old.readerIndex
        guard old.getString(at: start + range.lowerBound, length: range.count) != host else { return }
        var head = allocator.buffer(capacity: old.readableBytes + host.utf8.count)
        head.writeImmutableBuffer(old.getSlice(at: start, length: range.lowerBound)!)
        head.writeString(host)
        head.writeImmutableBuffer(
            old.getSlice(at: start + range.upperBound, length: old.readableBytes - range.upperBound)!
        )
        self.bytes = head
        self.hostValue = range.lowerBound..<(range.lowerBound + host.utf8.count)
    }
}
