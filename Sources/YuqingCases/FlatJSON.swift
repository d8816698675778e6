/// A strict reader of the flat JSON objects steps and evidence are stored as: one object whose
/// values are strings, integers, booleans, null, or arrays of strings. Much faster than a general
/// decoder, which matters at the hub: it reads every pushed step. Anything else is refused (nil).
enum FlatJSON {
    enum Value: Equatable {
        case string(String)
        case integer(Int64)
        case strings([String])
        case bool(Bool)
        case null
    }

    static func parse(_ text: String) -> [String: Value]? {
        var text = text
        text.makeContiguousUTF8()
        return text.utf8.withContiguousStorageIfAvailable { buffer -> [String: Value]? in
            var reader = Reader(bytes: buffer)
            return reader.object()
        } ?? nil
    }

    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        mutating func expect(_ c: UInt8) -> Bool {
            skipSpace()
            guard i < bytes.count, bytes[i] == c else { return false }
            i += 1
            return true
        }

        mutating func object() -> [String: Value]? {
            guard expect(UInt8(ascii: "{")) else { return nil }
            var out: [String: Value] = Dictionary(minimumCapacity: 12)
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
            } else {
                while true {
                    skipSpace()
                    guard let key = string(), expect(UInt8(ascii: ":")), let v = value(), out.updateValue(v, forKey: key) == nil else { return nil }
                    if expect(UInt8(ascii: ",")) { continue }
                    guard expect(UInt8(ascii: "}")) else { return nil }
                    break
                }
            }
            skipSpace()
            return i == bytes.count ? out : nil
        }

        mutating func value() -> Value? {
            skipSpace()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "\""): return string().map(Value.string)
            case UInt8(ascii: "["):
                i += 1
                var items: [String] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .strings(items) }
                while true {
                    skipSpace()
                    guard let s = string() else { return nil }
                    items.append(s)
                    if expect(UInt8(ascii: ",")) { continue }
                    return expect(UInt8(ascii: "]")) ? .strings(items) : nil
                }
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            default: return integer().map(Value.integer)
            }
        }

        mutating func literal(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count else { return false }
            for k in w.indices where bytes[i + k] != w[k] { return false }
            i += w.count
            return true
        }

        /// JSON's integer form: an optional minus, no leading zeros, no fraction or exponent.
        mutating func integer() -> Int64? {
            let start = i
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
            let digits = i
            while i < bytes.count, (48...57).contains(bytes[i]) { i += 1 }
            guard i > digits, !(bytes[digits] == 48 && i - digits > 1) else { return nil }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") { return nil }
            return Int64(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
        }

        mutating func string() -> String? {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            let start = i
            // The common case: no escapes.
            while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") {
                guard bytes[i] >= 0x20 else { return nil }
                i += 1
            }
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "\"") {
                i += 1
                return String(validating: UnsafeBufferPointer(rebasing: bytes[start..<(i - 1)]), as: UTF8.self)
            }
            var out = Array(bytes[start..<i])
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    return String(validating: out, as: UTF8.self)
                }
                guard c >= 0x20 else { return nil }
                if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
                i += 1
                guard i < bytes.count else { return nil }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else { return nil }
                        i += 2
                        guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        return nil
                    }
                    guard let u = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= bytes.count else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]
                let d: UInt8
                switch c {
                case 48...57: d = c - 48
                case 65...70: d = c - 55
                case 97...102: d = c - 87
                default: return nil
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }
    }
}

extension Step {
    /// Reads a stored step with ``FlatJSON``: the same result as the JSON decoder, faster.
    init?(flat text: String) {
        guard let o = FlatJSON.parse(text) else { return nil }
        func string(_ k: String) -> String?? {
            switch o[k] {
            case nil, .null?: return .some(nil)
            case .string(let s)?: return .some(s)
            default: return nil  // present with the wrong type
            }
        }
        func integer(_ k: String) -> Int64?? {
            switch o[k] {
            case nil, .null?: return .some(nil)
            case .integer(let n)?: return .some(n)
            default: return nil
            }
        }
        func strings(_ k: String) -> [String]?? {
            switch o[k] {
            case nil, .null?: return .some(nil)
            case .strings(let s)?: return .some(s)
            default: return nil
            }
        }
        guard case .string(let kindText)? = o["kind"], let kind = StepKind(rawValue: kindText),
              case .integer(let at)? = o["at"], case .string(let by)? = o["by"], case .string(let unit)? = o["unit"],
              case .string(let roleText)? = o["role"], let role = Role(rawValue: roleText),
              let text = string("text"), let level = string("level"), let from = string("from"), let category = integer("category"),
              let lead = string("lead"), let coUnits = strings("coUnits"), let deadline = integer("deadline"),
              let target = string("target"), let reportText = string("report"), let link = string("link"),
              let views = integer("views"), let comments = integer("comments"), let reposts = integer("reposts"),
              let notify = strings("notify") else { return nil }
        var report: ReportKind?
        if let reportText {
            guard let r = ReportKind(rawValue: reportText) else { return nil }
            report = r
        }
        guard category.map({ Int(exactly: $0) != nil }) ?? true else { return nil }
        self.init(kind: kind, at: at, by: Actor(user: by, unit: unit), role: role)
        (self.text, self.level, self.from, self.category, self.lead, self.coUnits) = (text, level, from, category.map { Int($0) }, lead, coUnits)
        (self.deadline, self.target, self.report, self.link) = (deadline, target, report, link)
        (self.views, self.comments, self.reposts, self.notify) = (views, comments, reposts, notify)
    }
}
