internal import CYAML
public import TurnpikeModel

/// Writes `Rendered` documents as YAML through libyaml's emitter, so that reading the text back with
/// `YAMLFrontEnd` (Kong's YAML 1.1 typing) gives the same tree.
///
/// A mapping key `<<` cannot round-trip: lyaml, and so `YAMLFrontEnd`, treats it as a merge key even when quoted.
public enum YAMLEmitter {
    /// Block-style YAML of `value`, keys in their given order, ending with a newline.
    ///
    /// Non-empty mappings and sequences are block style, empty ones `{}` and `[]`; sequences inside a mapping
    /// start at the key's column (`- ` under `key:`), nesting indents by 2. Strings that a plain scalar would
    /// not read back as a string (`"3.0"`, `"yes"`, `""`, `"~"`, ...) are double-quoted; libyaml picks the style
    /// of the others (plain where it can). Lines are never folded.
    public static func emit(_ value: Rendered) -> String {
        guard let bytes = self.emitWithLibYAML(value) else {
            // libyaml only fails on allocation or on events it considers malformed; JSON is valid YAML too.
            return value.json + "\n"
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - libyaml session

    private static func emitWithLibYAML(_ value: Rendered) -> [UInt8]? {
        let emitter = UnsafeMutablePointer<yaml_emitter_t>.allocate(capacity: 1)
        defer { emitter.deallocate() }
        // libyaml keeps this pointer as the write handler's context, so it must stay put until the emitter is gone.
        let output = UnsafeMutablePointer<[UInt8]>.allocate(capacity: 1)
        output.initialize(to: [])
        defer { output.deinitialize(count: 1).deallocate() }

        guard yaml_emitter_initialize(emitter) == 1 else { return nil }
        defer { yaml_emitter_delete(emitter) }
        yaml_emitter_set_output(
            emitter,
            { context, buffer, size in
                guard let context else { return 0 }
                if let buffer, size > 0 {
                    context.assumingMemoryBound(to: [UInt8].self).pointee
                        .append(contentsOf: UnsafeBufferPointer(start: buffer, count: size))
                }
                return 1
            },
            output
        )
        yaml_emitter_set_unicode(emitter, 1)
        yaml_emitter_set_width(emitter, -1)
        yaml_emitter_set_indent(emitter, 2)
        yaml_emitter_set_break(emitter, YAML_LN_BREAK)

        let ok =
            self.send(emitter) { yaml_stream_start_event_initialize($0, YAML_UTF8_ENCODING) }
            && self.send(emitter) { yaml_document_start_event_initialize($0, nil, nil, nil, 1) }
            && self.emitNode(value, to: emitter)
            && self.send(emitter) { yaml_document_end_event_initialize($0, 1) }
            && self.send(emitter) { yaml_stream_end_event_initialize($0) }
        return ok ? output.pointee : nil
    }

    /// Builds one event and hands it to the emitter, which owns (and frees) it from then on, also on failure.
    /// A failed initializer leaves nothing allocated.
    private static func send(
        _ emitter: UnsafeMutablePointer<yaml_emitter_t>,
        _ initialize: (UnsafeMutablePointer<yaml_event_t>) -> Int32
    ) -> Bool {
        var event = yaml_event_t()
        guard initialize(&event) == 1 else { return false }
        return yaml_emitter_emit(emitter, &event) == 1
    }

    private static func emitNode(_ value: Rendered, to emitter: UnsafeMutablePointer<yaml_emitter_t>) -> Bool {
        switch value {
        case .null:
            return self.scalar("null", quoted: false, to: emitter)
        case .bool(let bool):
            return self.scalar(bool ? "true" : "false", quoted: false, to: emitter)
        case .integer(let int):
            return self.scalar(String(int), quoted: false, to: emitter)
        case .number(let double):
            return self.scalar(self.floatText(double), quoted: false, to: emitter)
        case .string(let string):
            return self.scalar(string, quoted: self.needsQuotes(string), to: emitter)
        case .array(let items):
            let style = items.isEmpty ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE
            guard self.send(emitter, { yaml_sequence_start_event_initialize($0, nil, nil, 1, style) }) else {
                return false
            }
            for item in items where !self.emitNode(item, to: emitter) { return false }
            return self.send(emitter) { yaml_sequence_end_event_initialize($0) }
        case .object(let fields):
            let style = fields.isEmpty ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE
            guard self.send(emitter, { yaml_mapping_start_event_initialize($0, nil, nil, 1, style) }) else {
                return false
            }
            for (key, item) in fields {
                guard self.scalar(key, quoted: self.needsQuotes(key), to: emitter), self.emitNode(item, to: emitter)
                else { return false }
            }
            return self.send(emitter) { yaml_mapping_end_event_initialize($0) }
        }
    }

    /// An untagged scalar. `quoted` forces double quotes; otherwise libyaml may write it plain, or quote it
    /// when plain would not be valid YAML syntax (`a: b`, `- x`, `#c`, line breaks, ...).
    private static func scalar(
        _ text: String,
        quoted: Bool,
        to emitter: UnsafeMutablePointer<yaml_emitter_t>
    ) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard let length = Int32(exactly: bytes.count) else { return false }
            // libyaml asserts a non-null value pointer even for an empty scalar.
            var empty: UInt8 = 0
            return withUnsafePointer(to: &empty) { emptyPointer in
                let pointer = bytes.baseAddress ?? emptyPointer
                return self.send(emitter) {
                    yaml_scalar_event_initialize(
                        $0,
                        nil,
                        nil,
                        pointer,
                        length,
                        quoted ? 0 : 1,
                        1,
                        quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE
                    )
                }
            }
        }
    }

    // MARK: - Typing

    /// Whether `text`, written as a plain scalar, would be typed as something other than this string
    /// (null, bool, int, float, or a number error), so it has to be quoted.
    static func needsQuotes(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            if case .value(.string) = ScalarResolver.resolvePlain(bytes) { return false }
            return true
        }
    }

    /// A float spelling that the resolver reads back as the same double, and never as an integer.
    static func floatText(_ value: Double) -> String {
        if value.isNaN { return ".nan" }
        if value.isInfinite { return value < 0 ? "-.inf" : ".inf" }
        // Swift's description is the shortest text that parses back to the same double (`1.0`, `1e+300`, `5e-324`).
        let text = value.description
        return text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") } ? text : text + ".0"
    }
}
