internal import CPCRE2

// This is the one reviewed file of TurnpikeRegex that uses `@unchecked Sendable`.
//
// Why it is safe: PCRE2 documents that a compiled pattern (`pcre2_code`, including its JIT code)
// and a match context are read-only during `pcre2_match` and may be used by many threads at
// once; only `pcre2_match_data` is written by a match, and match data never leaves one call of
// the call that made it (see `MatchScratch`, which is not Sendable). The pointers below are set in
// `init`, never reassigned, and freed in `deinit`, when no other reference can exist.

/// Limits shared by all regexes of one table: a runaway pattern gives up instead of spinning.
public final class RegexMatchLimits: @unchecked Sendable {
    /// Backtracking steps per match attempt (PCRE2's default is 10,000,000).
    static let matchLimit: UInt32 = 200_000
    /// Nesting depth of backtracking (interpreter only; JIT uses its own stack).
    static let depthLimit: UInt32 = 10_000
    /// KiB of heap for backtracking frames (interpreter only).
    static let heapLimit: UInt32 = 4_096

    let context: OpaquePointer

    public init() {
        guard let context = pcre2_match_context_create_8(nil) else {
            fatalError("pcre2_match_context_create failed (out of memory)")
        }
        pcre2_set_match_limit_8(context, Self.matchLimit)
        pcre2_set_depth_limit_8(context, Self.depthLimit)
        pcre2_set_heap_limit_8(context, Self.heapLimit)
        self.context = context
    }

    deinit {
        pcre2_match_context_free_8(self.context)
    }
}

/// One PCRE2 pattern, compiled (and JIT-compiled when the platform supports it) once per config.
///
/// `.router` options (the default): `UTF` (Kong's router regexes follow Rust `regex`, which works
/// on Unicode scalars) with `MATCH_INVALID_UTF` (normalised paths may hold any byte; invalid
/// sequences simply never match a character), `UCP` (`\w`, `\d`, `\b` are Unicode-aware as in
/// Rust), `DOLLAR_ENDONLY` (Rust's `$` does not match before a final newline),
/// `NEVER_BACKSLASH_C`. Path regexes are compiled as `^` + the pattern, exactly as Kong's compat
/// router builds them (so only the first top-level alternative is anchored); header regexes search
/// anywhere. `.nginx` options are OpenResty's `ngx.re` defaults (bytes, no UTF), for plugins whose
/// Kong code calls `ngx.re.find`.
public final class CompiledRegex: @unchecked Sendable {
    /// How a pattern is read (see the type's summary).
    public enum Dialect: Sendable {
        case router
        case nginx
    }

    public let source: String
    let code: OpaquePointer
    let limits: RegexMatchLimits
    /// Number of capture groups, not counting group 0.
    public let captureCount: Int
    /// Named groups as (name, group number), in group-number order.
    public let names: [(name: String, group: Int)]

    /// Compiles `pattern`; returns PCRE2's error text (with the offset) when it is rejected.
    public static func compile(
        _ pattern: String,
        limits: RegexMatchLimits,
        dialect: Dialect = .router
    ) -> Result<CompiledRegex, RegexCompileError> {
        let options: UInt32 =
            dialect == .nginx
            ? UInt32(PCRE2_NEVER_BACKSLASH_C)
            : UInt32(PCRE2_UTF) | UInt32(PCRE2_MATCH_INVALID_UTF) | UInt32(PCRE2_UCP) | UInt32(PCRE2_DOLLAR_ENDONLY)
                | UInt32(PCRE2_NEVER_BACKSLASH_C)
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let bytes = Array(pattern.utf8)
        let code = bytes.withUnsafeBufferPointer { buffer in
            pcre2_compile_8(buffer.baseAddress, buffer.count, options, &errorCode, &errorOffset, nil)
        }
        guard let code else {
            return .failure(RegexCompileError(message: Self.errorMessage(errorCode), offset: errorOffset))
        }
        // JIT is an optimisation: when unavailable (or out of executable memory) the interpreter runs.
        _ = pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE))
        return .success(CompiledRegex(source: pattern, code: code, limits: limits))
    }

    private init(source: String, code: OpaquePointer, limits: RegexMatchLimits) {
        self.source = source
        self.code = code
        self.limits = limits
        var count: UInt32 = 0
        _ = pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        self.captureCount = Int(count)
        var nameCount: UInt32 = 0
        var entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>? = nil
        _ = pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMECOUNT), &nameCount)
        _ = pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize)
        _ = pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMETABLE), &table)
        var names: [(name: String, group: Int)] = []
        if let table, nameCount > 0 {
            // Each entry: two bytes of group number (big-endian), then the zero-terminated name.
            for i in 0..<Int(nameCount) {
                let entry = table + i * Int(entrySize)
                let group = Int(entry[0]) << 8 | Int(entry[1])
                var length = 0
                while 2 + length < Int(entrySize), entry[2 + length] != 0 { length += 1 }
                let name = String(decoding: UnsafeBufferPointer(start: entry + 2, count: length), as: UTF8.self)
                names.append((name, group))
            }
            names.sort { $0.group < $1.group }
        }
        self.names = names
    }

    deinit {
        pcre2_code_free_8(self.code)
    }

    /// Runs the pattern on `subject` with `scratch`'s match data; true when it matched (then
    /// `groupRanges(scratch:)` reads the offsets). PCRE2 errors such as a hit match limit count as
    /// no match.
    public func matches(_ subject: UnsafeBufferPointer<UInt8>, scratch: MatchScratch) -> Bool {
        let data = scratch.matchData(pairs: self.captureCount + 1)
        let rc: Int32
        if let base = subject.baseAddress {
            rc = pcre2_match_8(self.code, base, subject.count, 0, 0, data, self.limits.context)
        } else {
            // PCRE2 rejects a null subject even with length 0.
            var zero: UInt8 = 0
            rc = withUnsafePointer(to: &zero) { pcre2_match_8(self.code, $0, 0, 0, 0, data, self.limits.context) }
        }
        // rc == 0 means the ovector was too small, which `matchData(pairs:)` rules out; still a match.
        return rc >= 0
    }

    /// The capture offsets of the last successful `firstMatch` with the same scratch: group `i`
    /// as a byte range of the subject, nil when the group did not take part.
    public func groupRanges(scratch: MatchScratch) -> [Range<Int>?] {
        guard let data = scratch.data, let ovector = pcre2_get_ovector_pointer_8(data) else { return [] }
        let pairs = min(Int(pcre2_get_ovector_count_8(data)), self.captureCount + 1)
        var out: [Range<Int>?] = []
        out.reserveCapacity(pairs)
        for i in 0..<pairs {
            let start = ovector[2 * i]
            let end = ovector[2 * i + 1]
            // PCRE2_UNSET is ~(size_t)0, which Swift sees as -1.
            if start < 0 || end < start {
                out.append(nil)
            } else {
                out.append(start..<end)
            }
        }
        return out
    }

    static func errorMessage(_ code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBufferPointer { pcre2_get_error_message_8(code, $0.baseAddress, $0.count) }
        guard n > 0 else { return "unknown error \(code)" }
        return String(decoding: buffer[0..<Int(n)], as: UTF8.self)
    }
}

/// A pattern PCRE2 rejected: its message and the byte offset in the pattern where it stopped.
public struct RegexCompileError: Error, Sendable {
    public let message: String
    public let offset: Int
}

/// Per-call match data. Never shared between threads: one call (a route match, a plugin's check)
/// makes one lazily (only when it evaluates a regex) and frees it when done.
public final class MatchScratch {
    private(set) var data: OpaquePointer?
    private var capacity = 0

    public init() {}

    func matchData(pairs: Int) -> OpaquePointer {
        if let data, self.capacity >= pairs { return data }
        if let data { pcre2_match_data_free_8(data) }
        let wanted = max(pairs, 10)
        guard let fresh = pcre2_match_data_create_8(UInt32(wanted), nil) else {
            fatalError("pcre2_match_data_create failed (out of memory)")
        }
        self.data = fresh
        self.capacity = wanted
        return fresh
    }

    deinit {
        if let data { pcre2_match_data_free_8(data) }
    }
}
