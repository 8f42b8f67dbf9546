/// request-transformer's values: Penlight templates (`$(expr)` inside text) as Kong's docs use
/// them, parsed once at load. An expression is `or`-separated terms, each a lookup
/// (`headers.x`, `headers["x-y"]`, `query_params.y`, `uri_captures.z`, `uri_captures[1]`,
/// `shared.k`) or a quoted string; the first term with a value wins, and nothing renders as an
/// empty string (Penlight writes `(expr or '')`). Anything else would be Lua, which turnpike does
/// not run: refused at load.
struct ValueTemplate: Sendable, Equatable {
    enum Term: Sendable, Equatable {
        case header(String)
        case query(String)
        case capture(String)
        case captureIndex(Int)
        case shared(String)
        case literal(String)
    }

    enum Piece: Sendable, Equatable {
        case text(String)
        case expression([Term])
    }

    let pieces: [Piece]

    /// A plain value renders as itself, with no lookups.
    var isPlain: Bool { self.pieces.allSatisfy { if case .text = $0 { true } else { false } } }

    struct Failure: Error, Equatable {
        let message: String
    }

    static func parse(_ source: String) -> Result<ValueTemplate, Failure> {
        var pieces: [Piece] = []
        var text = ""
        var rest = Substring(source)
        while let start = rest.firstRange(of: "$(") {
            text += rest[..<start.lowerBound]
            var depth = 1
            var i = start.upperBound
            var quote: Character?
            while i < rest.endIndex {
                let c = rest[i]
                if let q = quote {
                    if c == "\\" {
                        i = rest.index(after: i)
                        if i == rest.endIndex { break }
                    } else if c == q {
                        quote = nil
                    }
                } else if c == "\"" || c == "'" {
                    quote = c
                } else if c == "(" {
                    depth += 1
                } else if c == ")" {
                    depth -= 1
                    if depth == 0 { break }
                }
                i = rest.index(after: i)
            }
            guard i < rest.endIndex else { return .failure(Failure(message: "unclosed '$('")) }
            let expression = rest[start.upperBound..<i]
            guard let terms = Self.terms(expression) else {
                return .failure(
                    Failure(
                        message: "'\(expression)' is not supported by turnpike (headers, query_params, "
                            + "uri_captures and shared lookups, quoted strings, joined with 'or')"
                    )
                )
            }
            if !text.isEmpty {
                pieces.append(.text(text))
                text = ""
            }
            pieces.append(.expression(terms))
            rest = rest[rest.index(after: i)...]
        }
        text += rest
        if !text.isEmpty || pieces.isEmpty { pieces.append(.text(text)) }
        return .success(ValueTemplate(pieces: pieces))
    }

    /// `a or b or "c"`, split outside quotes.
    static func terms(_ expression: Substring) -> [Term]? {
        var parts: [Substring] = []
        var current = expression.startIndex
        var i = expression.startIndex
        var quote: Character?
        while i < expression.endIndex {
            let c = expression[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if expression[i...].hasPrefix(" or ") {
                parts.append(expression[current..<i])
                i = expression.index(i, offsetBy: 4)
                current = i
                continue
            }
            i = expression.index(after: i)
        }
        parts.append(expression[current...])
        var terms: [Term] = []
        for part in parts {
            guard let term = Self.term(part.trimmingCharacters(in: " \t")) else { return nil }
            terms.append(term)
        }
        return terms
    }

    static func term(_ s: Substring) -> Term? {
        if let literal = Self.quoted(s) { return .literal(literal) }
        for (prefix, make) in [
            ("headers", Term.header), ("query_params", Term.query), ("uri_captures", Term.capture),
            ("shared", Term.shared),
        ] as [(String, (String) -> Term)] {
            guard s.hasPrefix(prefix) else { continue }
            let rest = s.dropFirst(prefix.count)
            if rest.hasPrefix("."), Self.isName(rest.dropFirst()) { return make(String(rest.dropFirst())) }
            if rest.hasPrefix("["), rest.hasSuffix("]") {
                let inner = rest.dropFirst().dropLast().trimmingCharacters(in: " \t")
                if let key = Self.quoted(inner) { return make(key) }
                if prefix == "uri_captures", let n = Int(inner), n >= 0 { return .captureIndex(n) }
            }
            return nil
        }
        return nil
    }

    static func quoted(_ s: Substring) -> String? {
        guard s.count >= 2, let q = s.first, q == "\"" || q == "'", s.last == q else { return nil }
        let inner = s.dropFirst().dropLast()
        guard !inner.contains(q) else { return nil }
        return String(inner)
    }

    static func isName(_ s: Substring) -> Bool {
        guard let first = s.first, first.isLetter || first == "_" else { return false }
        return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    /// The value for this request.
    func render(_ lookup: (Term) -> String?) -> String {
        var out = ""
        for piece in self.pieces {
            switch piece {
            case .text(let t):
                out += t
            case .expression(let terms):
                for term in terms {
                    if case .literal(let l) = term {
                        out += l
                        break
                    }
                    if let v = lookup(term) {
                        out += v
                        break
                    }
                }
            }
        }
        return out
    }
}
