import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingSecurity

/// `yuqing case history`: who did what to a case, when, on which device, and the seal that proves
/// it (`Protocol/security.md` §3).
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: L("A case's record of who did what, when, on which device, with the seals that prove it.",
                    zh: "案件的办理记录：谁在何时、在哪台设备上做了什么，以及可资证明的签名。"),
        discussion: L("""
            Steps and evidence are written once and kept for good; other fields show the values they
            hold now. Each entry names the device whose seal covers it: checked here when it came
            from the hub ("verified"), made here for this node's own work ("own"), or not yet
            sealed (work not yet sent). --csv writes the same for Excel (UTF-8 with a BOM).
            """, zh: """
            步骤和证据一经写入即永久保存；其他字段显示当前的值。每条记录注明其签名所属的设备：
            来自中心并已在本机核验的，标为“已核验”；本节点自身的工作由本机签名的，标为“本机签名”；
            尚未发送的工作标为“未签名”。--csv 将同样内容写成 Excel 可打开的文件（带 BOM 的 UTF-8）。
            """))
    @OptionGroup var options: ReplicaOptions
    @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
    @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以 JSON 格式输出。"))) var json = false
    @Option(help: ArgumentHelp(L("Also write the history to this CSV file.", zh: "同时将办理记录写入该 CSV 文件。"), valueName: "path")) var csv: String?

    struct Entry {
        var time: UInt64
        var device: String
        var counter: UInt64
        var author: String
        var field: String
        var element: String
        var value: String
        var seal: (seal: Seal, verified: Bool)?
        var deviceKey: String?

        var sealState: String {
            guard let seal else { return "unsealed" }
            return seal.verified ? "verified" : "received"
        }
    }

    func run() async throws {
        let replica = try options.openForReading()
        let file = try CaseLookup.file(id, in: replica)
        let devices = Dictionary(try replica.views(kinds: [CaseSchema.Kind.device]).compactMap(Device.init).map { ($0.id, $0) },
                                 uniquingKeysWith: { a, _ in a })
        let own = replica.id
        var entries: [Entry] = []
        for (key, siblings) in file.view.siblings {
            for s in siblings {
                let device = s.dot.replica.rawValue
                entries.append(Entry(time: s.hlc.wallMillis, device: device, counter: s.dot.counter, author: s.author,
                                     field: key.name, element: key.element, value: s.value.description,
                                     seal: try replica.seal(covering: s.dot),
                                     deviceKey: devices[device].flatMap { try? PublicKey(base64: $0.publicKey).fingerprint }))
            }
        }
        entries.sort { ($0.time, $0.device, $0.counter) < ($1.time, $1.device, $1.counter) }
        try Self.output(entries, json: json, csv: csv) { e in e.device == own.rawValue && e.seal != nil ? "own" : e.sealState }
    }

    static func output(_ entries: [Entry], json: Bool, csv: String?, state: (Entry) -> String) throws {
        if let csv { try Self.writeCSV(entries, to: csv, state: state) }
        if json {
            return try printJSON(entries.map { e -> [String: Any] in
                var o: [String: Any] = ["time": CaseJSON.time(Int64(e.time)),
                                        "device": e.device, "dot": "\(e.device):\(e.counter)", "author": e.author,
                                        "field": e.field, "element": e.element, "value": e.value, "seal": state(e)]
                if let s = e.seal?.seal {
                    o["sealed_run"] = ["first": s.first, "last": s.last, "signature": s.signature]
                }
                if let k = e.deviceKey { o["device_key"] = k }
                return o
            })
        }
        for e in entries {
            let when = CaseJSON.time(Int64(e.time))
            let what = e.element.isEmpty ? e.field : "\(e.field)[\(e.element.prefix(12))]"
            if processLanguage == .zh {
                print("\(when)  \(e.author.terminalSafe)  设备 \(e.device)\(e.deviceKey.map { "（密钥 \($0)）" } ?? "")  \(what.terminalSafe)  \(sealStateZH(state(e)))")
            } else {
                print("\(when)  \(e.author.terminalSafe)  device \(e.device)\(e.deviceKey.map { " (key \($0))" } ?? "")  \(what.terminalSafe)  \(state(e))")
            }
        }
    }

    /// A seal's state as people read it in Chinese; JSON and CSV keep the stable English names.
    static func sealStateZH(_ state: String) -> String {
        switch state {
        case "verified": "已核验"
        case "own": "本机签名"
        case "received": "已接收"
        case "unsealed": "未签名"
        default: state
        }
    }

    static func writeCSV(_ entries: [Entry], to path: String, state: (Entry) -> String) throws {
        func cell(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        var text = "\u{FEFF}time,author,device,device_key,field,element,value,seal,sealed_first,sealed_last,signature\r\n"
        for e in entries {
            let first: String = e.seal.map { String($0.seal.first) } ?? ""
            let last: String = e.seal.map { String($0.seal.last) } ?? ""
            let signature: String = e.seal?.seal.signature ?? ""
            let cells: [String] = [CaseJSON.time(Int64(e.time)), e.author, "\(e.device):\(e.counter)", e.deviceKey ?? "",
                                   e.field, e.element, e.value, state(e), first, last, signature]
            text += cells.map(cell).joined(separator: ",") + "\r\n"
        }
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw CLIError("cannot write \(path): \(error.localizedDescription)", zh: "无法写入 \(path)：\(error.localizedDescription)")
        }
    }
}

/// `yuqing hub history`: a case's whole history as the hub's log holds it, every value ever
/// written (superseded ones and removals included), each with the seal its device signed.
struct HubHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: L("A case's whole history at the hub: every change ever made to it, by whom, on which device, with its seal.",
                    zh: "中心保存的案件完整历史：每一次变更、变更人、所用设备及其签名。"),
        discussion: L("""
            Read from the hub's database (while it runs or not). Unlike `yuqing case history` on a node,
            which shows the values a node holds now, this lists every change of the hub's append-only
            log, superseded values and removals included. Every entry's seal was checked when the hub
            received it ("verified"); --csv writes the same for Excel (UTF-8 with a BOM).
            """, zh: """
            从中心的数据库读取（中心运行与否均可）。节点上的 `yuqing case history` 显示节点当前持有的值；
            本命令则列出中心只增不改的日志中的每一次变更，包括已被取代的值和删除操作。每条记录的签名
            均已在中心收到时核验（“已核验”）；--csv 将同样内容写成 Excel 可打开的文件（带 BOM 的 UTF-8）。
            """))
    @OptionGroup var store: HubStoreOptions
    @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
    @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以 JSON 格式输出。"))) var json = false
    @Option(help: ArgumentHelp(L("Also write the history to this CSV file.", zh: "同时将办理记录写入该 CSV 文件。"), valueName: "path")) var csv: String?

    func run() async throws {
        let id = id
        let entries: [History.Entry] = try await store.withStorage { hub in
            let changes = try await hub.history(of: CaseSchema.caseRef(id))
            guard !changes.isEmpty else {
                throw CLIError("the hub holds no case \(id); `yuqing case list` on a node of the office lists them",
                               zh: "中心没有案件 \(id)；可在办公室的节点上用 `yuqing case list` 查看案件列表")
            }
            let devices = Dictionary(try await hub.views(kinds: [CaseSchema.Kind.device]).compactMap(Device.init).map { ($0.id, $0) },
                                     uniquingKeysWith: { a, _ in a })
            var entries: [History.Entry] = []
            for c in changes {
                let device = c.dot.replica.rawValue
                entries.append(History.Entry(time: c.hlc.wallMillis, device: device, counter: c.dot.counter, author: c.author,
                                             field: c.field.name, element: c.field.element, value: c.value?.description ?? "(removed)",
                                             seal: try await hub.seal(covering: c.dot),
                                             deviceKey: device == hub.hubID.rawValue ? "hub" : devices[device].flatMap { try? PublicKey(base64: $0.publicKey).fingerprint }))
            }
            return entries
        }
        try History.output(entries, json: json, csv: csv) { $0.sealState }
    }
}
