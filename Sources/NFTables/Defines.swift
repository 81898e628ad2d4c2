/// `define NAME = VALUE`, `redefine` and `undefine` as nft's scanner does them: a variable is a
/// list of tokens, and every `$NAME` after its definition stands for them (with the use's position,
/// so an error points where the variable was used).
enum NFDefines {
    static func expand(_ toks: [NFToken]) throws(NFSyntaxError) -> [NFToken] {
        var vars: [String: [NFToken]] = [:]
        var out: [NFToken] = []
        out.reserveCapacity(toks.count)
        var i = 0
        var atStart = true
        while i < toks.count {
            let t = toks[i]
            if atStart, t.kind == .word, ["define", "redefine", "undefine"].contains(t.text) {
                i += 1
                guard i < toks.count, toks[i].kind == .word else { throw NFSyntaxError(line: t.line, column: t.column, message: "expected a variable name after \(t.text)") }
                let name = toks[i].text
                i += 1
                if t.text == "undefine" {
                    guard vars.removeValue(forKey: name) != nil else {
                        throw NFSyntaxError(line: t.line, column: t.column, message: "undefined symbol '\(name)'", kind: .refused)
                    }
                    continue
                }
                if t.text == "define", vars[name] != nil {
                    throw NFSyntaxError(line: t.line, column: t.column, message: "symbol '\(name)' already defined (use redefine)", kind: .refused)
                }
                guard i < toks.count, toks[i].kind == .punct, toks[i].text == "=" else {
                    throw NFSyntaxError(line: toks[min(i, toks.count - 1)].line, column: toks[min(i, toks.count - 1)].column, message: "expected '='")
                }
                i += 1
                var value: [NFToken] = []
                var depth = 0
                while i < toks.count {
                    let v = toks[i]
                    if depth == 0 && (v.kind == .newline || v.kind == .end || (v.kind == .punct && v.text == ";")) { break }
                    if v.kind == .punct && v.text == "{" { depth += 1 }
                    if v.kind == .punct && v.text == "}" { depth -= 1 }
                    // A variable inside a definition is expanded when defined.
                    if v.kind == .word, v.text.hasPrefix("$") {
                        guard let sub = vars[String(v.text.dropFirst())] else {
                            throw NFSyntaxError(line: v.line, column: v.column, message: "unknown identifier '\(v.text.dropFirst())'", kind: .refused)
                        }
                        value += sub
                    } else {
                        value.append(v)
                    }
                    i += 1
                }
                guard !value.isEmpty else { throw NFSyntaxError(line: t.line, column: t.column, message: "a definition needs a value") }
                vars[name] = value
                continue
            }
            if t.kind == .word, t.text.hasPrefix("$") {
                guard let sub = vars[String(t.text.dropFirst())] else {
                    throw NFSyntaxError(line: t.line, column: t.column, message: "unknown identifier '\(t.text.dropFirst())'", kind: .refused)
                }
                out += sub.map { NFToken(kind: $0.kind, text: $0.text, line: t.line, column: t.column) }
                atStart = false
                i += 1
                continue
            }
            if t.kind == .word, t.text == "include", atStart {
                throw NFSyntaxError(line: t.line, column: t.column, message: "not supported yet: include on a line shared with other statements (put it on its own line)", kind: .unsupported)
            }
            out.append(t)
            atStart = t.kind == .newline || (t.kind == .punct && (t.text == ";" || t.text == "{" || t.text == "}"))
            i += 1
        }
        return out
    }
}
