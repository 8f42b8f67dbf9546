internal import CYAML

/// A 1-based position as libyaml counts it: lines by line breaks, columns in Unicode scalars (code points).
struct YAMLMark: Sendable, Equatable {
    var line: Int
    var column: Int

    static let start = YAMLMark(line: 1, column: 1)

    init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    init(_ mark: yaml_mark_t) {
        self.line = Int(mark.line) + 1
        self.column = Int(mark.column) + 1
    }
}

/// The anchor, tag and position shared by scalars and collection starts.
struct YAMLNodeProperties {
    var anchor: String?
    /// The resolved tag (`!!int` arrives as `tag:yaml.org,2002:int`), nil when the node has none.
    var tag: String?
    var mark: YAMLMark
}

/// One libyaml event. Scalar bytes point into libyaml's event and are valid only until the next `next()` call.
enum YAMLEvent {
    case streamStart
    case streamEnd
    case documentStart(YAMLMark)
    case documentEnd
    case alias(anchor: String, mark: YAMLMark)
    /// `isPlain` is false for single/double quoted, literal and folded scalars.
    case scalar(bytes: UnsafeBufferPointer<UInt8>, isPlain: Bool, properties: YAMLNodeProperties)
    case sequenceStart(YAMLNodeProperties)
    case sequenceEnd
    case mappingStart(YAMLNodeProperties)
    case mappingEnd
}

/// A problem libyaml reported; parsing cannot continue after it.
struct YAMLSyntaxError: Error {
    var message: String
    var mark: YAMLMark
}

/// A thin owner of a `yaml_parser_t` reading from a caller-owned buffer that must outlive it.
///
/// The parser and its current event live in manually allocated memory because libyaml keeps a pointer to the
/// parser inside itself (the string read handler), so the struct must never move them. `deinit` frees both on
/// every path, including errors.
struct EventParser: ~Copyable {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let event: UnsafeMutablePointer<yaml_event_t>
    private let input: UnsafeBufferPointer<UInt8>
    private var holdsEvent = false

    init(input: UnsafeBufferPointer<UInt8>) throws(YAMLSyntaxError) {
        guard let base = input.baseAddress else {
            throw YAMLSyntaxError(message: "empty input", mark: .start)
        }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        guard yaml_parser_initialize(parser) != 0 else {
            parser.deallocate()
            throw YAMLSyntaxError(message: "out of memory while parsing YAML", mark: .start)
        }
        yaml_parser_set_input_string(parser, base, input.count)
        self.parser = parser
        self.event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        self.input = input
    }

    deinit {
        if self.holdsEvent { yaml_event_delete(self.event) }
        self.event.deallocate()
        yaml_parser_delete(self.parser)
        self.parser.deallocate()
    }

    /// The next event; throws the libyaml error that stops the stream.
    mutating func next() throws(YAMLSyntaxError) -> YAMLEvent {
        if self.holdsEvent {
            yaml_event_delete(self.event)
            self.holdsEvent = false
        }
        guard yaml_parser_parse(self.parser, self.event) != 0 else {
            throw self.currentError()
        }
        self.holdsEvent = true
        let event = self.event.pointee
        let mark = YAMLMark(event.start_mark)
        switch event.type {
        case YAML_STREAM_START_EVENT:
            return .streamStart
        case YAML_STREAM_END_EVENT:
            return .streamEnd
        case YAML_DOCUMENT_START_EVENT:
            return .documentStart(mark)
        case YAML_DOCUMENT_END_EVENT:
            return .documentEnd
        case YAML_ALIAS_EVENT:
            return .alias(anchor: Self.string(event.data.alias.anchor) ?? "", mark: mark)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let bytes = UnsafeBufferPointer(start: scalar.value, count: scalar.value == nil ? 0 : scalar.length)
            let properties = YAMLNodeProperties(
                anchor: Self.string(scalar.anchor),
                tag: Self.string(scalar.tag),
                mark: mark
            )
            return .scalar(bytes: bytes, isPlain: scalar.style == YAML_PLAIN_SCALAR_STYLE, properties: properties)
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            return .sequenceStart(
                YAMLNodeProperties(anchor: Self.string(start.anchor), tag: Self.string(start.tag), mark: mark)
            )
        case YAML_SEQUENCE_END_EVENT:
            return .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            return .mappingStart(
                YAMLNodeProperties(anchor: Self.string(start.anchor), tag: Self.string(start.tag), mark: mark)
            )
        case YAML_MAPPING_END_EVENT:
            return .mappingEnd
        default:
            // YAML_NO_EVENT is only produced after an error or the stream end, both handled above.
            throw YAMLSyntaxError(message: "unexpected end of YAML events", mark: mark)
        }
    }

    /// Anchors and tags have no length field in libyaml; they cannot contain NUL because the reader rejects
    /// control characters, so reading up to the terminator is exact.
    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
    }

    private func currentError() -> YAMLSyntaxError {
        let state = self.parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unknown YAML error"
        switch state.error {
        case YAML_MEMORY_ERROR:
            return YAMLSyntaxError(message: "out of memory while parsing YAML", mark: .start)
        case YAML_READER_ERROR:
            var offset = Int(state.problem_offset)
            // For a bad trailing octet libyaml points past the sequence's first byte; report the character.
            if problem == "invalid trailing UTF-8 octet" {
                offset = Self.sequenceStart(before: offset, in: self.input)
            }
            let mark = Self.mark(ofByteOffset: offset, in: self.input)
            let isEncoding = problem.contains("UTF-8") || problem.contains("Unicode")
            return YAMLSyntaxError(message: isEncoding ? "invalid UTF-8: \(problem)" : problem, mark: mark)
        default:
            var message = problem
            if let context = state.context {
                message += " " + String(cString: context)
            }
            return YAMLSyntaxError(message: message, mark: YAMLMark(state.problem_mark))
        }
    }

    /// The offset of the UTF-8 leading byte that starts the sequence `offset` lies in (at most 3 bytes back).
    static func sequenceStart(before offset: Int, in input: UnsafeBufferPointer<UInt8>) -> Int {
        var index = min(offset, input.count) - 1
        while index >= 0, index >= offset - 3 {
            let byte = input[index]
            if byte >= 0xC0 { return index }
            if byte & 0xC0 != 0x80 { break }
            index -= 1
        }
        return offset
    }

    /// Reader errors carry a byte offset into the raw input, not a mark, so the position is recounted here the
    /// way libyaml's marks count: the BOM is not a column, CR LF is one break, NEL/LS/PS are breaks too, and
    /// columns advance once per character (every byte that is not a UTF-8 continuation byte).
    static func mark(ofByteOffset offset: Int, in input: UnsafeBufferPointer<UInt8>) -> YAMLMark {
        let end = min(max(offset, 0), input.count)
        var line = 1
        var column = 1
        var index = 0
        if input.count >= 3, input[0] == 0xEF, input[1] == 0xBB, input[2] == 0xBF {
            index = 3
        }
        while index < end {
            let byte = input[index]
            if byte == 0x0A {
                line += 1
                column = 1
                index += 1
            } else if byte == 0x0D {
                line += 1
                column = 1
                index += 1
                if index < end, input[index] == 0x0A { index += 1 }
            } else if byte == 0xC2, index + 1 < end, input[index + 1] == 0x85 {
                line += 1
                column = 1
                index += 2
            } else if byte == 0xE2, index + 2 < end, input[index + 1] == 0x80,
                input[index + 2] == 0xA8 || input[index + 2] == 0xA9
            {
                line += 1
                column = 1
                index += 3
            } else {
                if byte & 0xC0 != 0x80 { column += 1 }
                index += 1
            }
        }
        return YAMLMark(line: line, column: column)
    }
}
