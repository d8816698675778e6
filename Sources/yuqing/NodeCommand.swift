import ArgumentParser
import Foundation
import YuqingCases
import YuqingReplica
import YuqingSecurity
import YuqingSync
import YuqingWire

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: L("Create, inspect and run a node's replica.", zh: "创建、查看和运行节点副本。"),
        subcommands: [Init.self, Enrol.self, Info.self, User.self, Run.self, Reissue.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Create a node's replica file and its device key.", zh: "创建节点的副本文件和设备密钥。"),
            discussion: L("""
                Works offline: the hub is only contacted by `yuqing sync` and `yuqing node run`, and by
                the enrolment, given --code here or later with `yuqing node enrol`. The device's private
                key is made beside the replica (REPLICA.key, readable by its owner only) and never leaves it.
                """, zh: """
                可离线使用：只有 `yuqing sync`、`yuqing node run` 以及设备注册（在此用 --code，或之后用
                `yuqing node enrol`）才会连接中心。设备私钥生成在副本旁（REPLICA.key，仅所有者可读），
                永不离开本机。
                """))

        @Option(help: ArgumentHelp(L("Where to create the replica file.", zh: "副本文件的创建位置。"), valueName: "path")) var db: String?
        @Option(help: ArgumentHelp(L("The hub's URL, e.g. http://127.0.0.1:8080.", zh: "中心的 URL，如 http://127.0.0.1:8080。"), valueName: "url")) var hub: String
        @Option(help: ArgumentHelp(L("The unit this node works for, by its id in the organisation (township-a).",
                                     zh: "本节点所属单位，填写其在组织机构中的编号（如 township-a）。"), valueName: "id")) var unit: String
        @Option(help: ArgumentHelp(L("The user who works on this node; every change is attributed to them.",
                                     zh: "使用本节点的用户；所有变更均记在该用户名下。"), valueName: "id")) var user: String
        @Option(name: .customLong("role"), help: ArgumentHelp(L("The user's role until the organisation arrives from the hub: \(Role.names); repeat for more.",
                                                                zh: "从中心收到组织机构之前该用户的角色：\(NodeCommand.roleNamesZH)；可重复指定多个。"), valueName: "role"))
        var roles: [String] = []
        @Option(help: ArgumentHelp(L("The enrolment code the hub's operator made for this user (`yuqing hub enrol`): enrols the device now.",
                                     zh: "中心运维人员为该用户生成的注册码（`yuqing hub enrol`）：立即注册本设备。"), valueName: "code"))
        var code: String?
        @Option(help: ArgumentHelp(L("The hub's certificate (or CA) to pin, for an https hub (PEM).",
                                     zh: "https 中心需固定信任的中心证书（或 CA 证书，PEM 格式）。"), valueName: "path")) var hubCert: String?

        func run() async throws {
            let path = try ReplicaOptions.resolve(db)
            _ = try HubClient.url(hub)
            if let e = Identifier.error(unit, what: "unit") { throw CLIError("--unit: \(e.message)", zh: "--unit：\(e.chinese)") }
            if let e = Identifier.error(user, what: "user") { throw CLIError("--user: \(e.message)", zh: "--user：\(e.chinese)") }
            let parsed = try NodeCommand.roles(roles)
            let replica = try Replica.create(at: path, role: .node, unit: unit, hubURL: hub, schema: CaseSchema.schema)
            try replica.setAttribute("user", user)
            try replica.setAttribute("roles", parsed.map(\.rawValue).joined(separator: ","))
            let key: SigningKey
            do { key = try SigningKey.create(at: NodeSecurity.keyPath(forReplica: path)) } catch { throw CLIError(error) }
            print(L("initialised node \(replica.id) for \(user)@\(unit) at \(path) (hub \(hub)); device key \(key.publicKey.fingerprint)",
                    zh: "已创建节点 \(replica.id)（\(user)@\(unit)），副本文件 \(path)（中心 \(hub)）；设备密钥 \(key.publicKey.fingerprint)"))
            if let code { try await Enrol.enrol(replica, code: code, hub: hub, certificate: try Enrol.certificate(hubCert, codeFile: nil)) }
        }
    }

    struct Enrol: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Enrol this node's device at its hub with the one-time code the operator made.",
                        zh: "用运维人员生成的一次性注册码，在中心注册本节点的设备。"),
            discussion: L("""
                The operator makes the code at the hub (`yuqing hub enrol --unit U --user X`) and gives
                it to the user (printed, or as a file). The node presents it once with its public key;
                the hub records the device for that unit and user, and answers with its own key, which
                the node keeps to check what the hub signs.
                """, zh: """
                运维人员在中心生成注册码（`yuqing hub enrol --unit U --user X`），交给用户（打印件或文件）。
                节点连同其公钥提交一次注册码；中心为该单位和用户注册本设备，并回复中心自己的公钥，
                节点保存该公钥，用于核验中心签名的内容。
                """))
        @OptionGroup var options: ReplicaOptions
        @Option(help: ArgumentHelp(L("The enrolment code.", zh: "注册码。"), valueName: "code")) var code: String?
        @Option(help: ArgumentHelp(L("A file holding the code (as `yuqing hub enrol --out` writes it).",
                                     zh: "存放注册码的文件（由 `yuqing hub enrol --out` 写出）。"), valueName: "path")) var codeFile: String?
        @Option(help: ArgumentHelp(L("Override the hub URL stored in the replica.", zh: "改用此中心 URL，而非副本中保存的 URL。"), valueName: "url")) var hub: String?
        @Option(help: ArgumentHelp(L("The hub's certificate (or CA) to pin, for an https hub, when the code file does not carry it (PEM).",
                                     zh: "https 中心需固定信任的中心证书（或 CA 证书，PEM 格式），用于注册码文件未附带证书时。"), valueName: "path"))
        var hubCert: String?

        func run() async throws {
            let replica = try options.openNode()
            let given: String
            var codeText: String?
            if let code { given = code } else if let codeFile {
                guard let text = try? String(contentsOfFile: codeFile, encoding: .utf8) else {
                    throw CLIError("cannot read the code file \(codeFile)", zh: "无法读取注册码文件 \(codeFile)")
                }
                given = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                codeText = text
            } else {
                throw CLIError("give the enrolment code: --code CODE, or --code-file FILE (the operator makes it with `yuqing hub enrol`)",
                               zh: "请提供注册码：--code CODE 或 --code-file FILE（由运维人员用 `yuqing hub enrol` 生成）")
            }
            guard let url = try hub ?? replica.info().hubURL else {
                throw CLIError("this replica has no hub URL; pass --hub URL", zh: "该副本没有中心 URL；请使用 --hub URL")
            }
            try await Self.enrol(replica, code: given, hub: url, certificate: try Self.certificate(hubCert, codeFile: codeText))
        }

        /// The certificate to pin: from --hub-cert, else the one the code file carries, else none.
        static func certificate(_ path: String?, codeFile: String?) throws -> String? {
            if let path {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8), !PEM.certificateBlocks(text).isEmpty else {
                    throw CLIError("cannot read a certificate from \(path); give the hub's certificate as a PEM file (-----BEGIN CERTIFICATE-----)",
                                   zh: "无法从 \(path) 读取证书；请提供 PEM 格式的中心证书文件（-----BEGIN CERTIFICATE-----）")
                }
                return PEM.certificateBlocks(text)
            }
            let carried = codeFile.map(PEM.certificateBlocks) ?? ""
            return carried.isEmpty ? nil : carried
        }

        static func enrol(_ replica: Replica, code: String, hub: String, certificate: String?) async throws {
            let keyPath = NodeSecurity.keyPath(forReplica: replica.path)
            let key: SigningKey
            do { key = try SigningKey.loadOrCreate(at: keyPath) } catch { throw CLIError(error) }
            let client: HubClient
            do { client = try HubClient(hubURL: hub, pinnedCertificates: certificate) } catch let e as SyncError { throw CLIError(e, exitCode: 5) }
            let answer: EnrolResponse
            do {
                answer = try await client.enrol(EnrolRequest(code: code, device: replica.id, publicKey: key.publicKey.base64))
            } catch let error as SyncError {
                if error.problem?.code == "already_enrolled", error.message.contains("it can sync") {
                    print(L("this device is enrolled already", zh: "本设备已注册"))
                    return
                }
                throw CLIError("enrolment failed: \(error.message)", zh: "注册失败：\(error.chinese)", exitCode: 5)
            }
            let info = try replica.info()
            if let bound = info.hubID, bound != answer.hub {
                throw CLIError("the hub at \(hub) is hub \(answer.hub), but this node syncs with hub \(bound); the device was enrolled there, but this replica cannot use it. Make a new replica for that hub",
                               zh: "\(hub) 上的中心是 \(answer.hub)，而本节点与中心 \(bound) 同步；设备已在该中心注册，但本副本无法使用。请为该中心新建副本")
            }
            let user = try replica.attribute("user")
            guard answer.unit == info.unit, user == nil || user == answer.user else {
                throw CLIError("this code enrols \(answer.user)@\(answer.unit), but this node works as \(user ?? "?")@\(info.unit): ask the operator for a code for the right unit (the device is enrolled for \(answer.unit) now: ask the operator to revoke it, `yuqing hub revoke \(replica.id)`)",
                               zh: "该注册码用于 \(answer.user)@\(answer.unit)，而本节点的身份是 \(user ?? "?")@\(info.unit)：请向运维人员索取正确单位的注册码（本设备现已注册到 \(answer.unit)：请运维人员将其吊销，`yuqing hub revoke \(replica.id)`）")
            }
            _ = try replica.bindHub(answer.hub)
            try replica.setAttribute(NodeSecurity.hubKeyAttribute, answer.hubKey)
            if let certificate { try replica.setAttribute(NodeSecurity.hubCertificateAttribute, certificate) }
            try replica.setAttribute("user", answer.user)
            if !answer.roles.isEmpty { try replica.setAttribute("roles", answer.roles.joined(separator: ",")) }
            let hubKey = (try? PublicKey(base64: answer.hubKey).fingerprint) ?? "?"
            print(L("enrolled device \(replica.id) as \(answer.user)@\(answer.unit) at hub \(answer.hub) (hub key \(hubKey))",
                    zh: "已在中心 \(answer.hub) 注册设备 \(replica.id)，身份 \(answer.user)@\(answer.unit)（中心密钥 \(hubKey)）"))
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("Show the node's identity and sync position.", zh: "查看节点的身份信息和同步进度。"))
        @OptionGroup var options: ReplicaOptions

        func run() async throws {
            let replica = try options.openForReading()
            let info = try replica.info()
            print("replica:  \(info.id) (\(info.role.rawValue))")
            print("unit:     \(info.unit.terminalSafe)")
            print("user:     \((try replica.attribute("user") ?? "-").terminalSafe)")
            print("hub:      \(info.hubURL ?? "-")")
            print("pending:  \(try replica.pendingCount()) changes to push")
            print("pulled:   up to hub position \(info.pullCursor)")
            print("vector:   \(try replica.versionVector())")
        }
    }

    static func roles(_ names: [String]) throws -> [Role] {
        try names.flatMap { $0.split(separator: ",") }.map { r in
            guard let role = Role(name: String(r)) else {
                throw CLIError("'\(r)' is not a role; roles are: \(Role.names)", zh: "“\(r)”不是有效的角色；可选角色：\(roleNamesZH)")
            }
            return role
        }
    }

    /// `monitor（监测员）、commentator（网评员）…` for Chinese help and error text.
    static var roleNamesZH: String { Role.allCases.map { "\($0.rawValue)（\($0.chinese)）" }.joined(separator: "、") }

    struct User: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Set the user who works on this node (for a node made before users existed).",
                        zh: "设置使用本节点的用户（适用于引入用户之前创建的节点）。"),
            discussion: L("The organisation received from the hub decides the user's roles; --role serves until it arrives.",
                          zh: "用户的角色以从中心收到的组织机构为准；收到之前以 --role 为准。"))
        @OptionGroup var options: ReplicaOptions
        @Option(help: ArgumentHelp(L("The user's id.", zh: "用户编号。"), valueName: "id")) var user: String
        @Option(name: .customLong("role"), help: ArgumentHelp(L("A role: \(Role.names); repeat for more.", zh: "角色：\(NodeCommand.roleNamesZH)；可重复指定多个。"),
                                                                valueName: "role")) var roles: [String] = []

        func run() async throws {
            if let e = Identifier.error(user, what: "user") { throw CLIError("--user: \(e.message)", zh: "--user：\(e.chinese)") }
            let parsed = try NodeCommand.roles(roles)
            let replica = try options.openNode()
            let actor = Actor(user: user, unit: try replica.info().unit)
            try replica.setAttribute("user", user)
            try replica.setAttribute("roles", parsed.map(\.rawValue).joined(separator: ","))
            let moved = try replica.reauthorPending(actor.author)
            print(L("this node now works as \(actor)" + (moved > 0 ? "; its \(moved) unsent changes are attributed to \(user)" : ""),
                    zh: "本节点现以 \(actor) 身份工作" + (moved > 0 ? "；\(moved) 项尚未发送的变更改记在 \(user) 名下" : "")))
        }
    }

    struct Reissue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Give this node a new replica id and send its unsynced work under it.",
                        zh: "为本节点更换新的副本编号，并以新编号发送尚未同步的工作。"),
            discussion: L("""
                The way out when sync reports that the hub holds a different change under one of this
                node's change ids (the file was restored from a backup or copied, or another program
                sent changes under this node's id), or that changes were refused for a clock set far
                ahead. Every change the hub has not acknowledged moves to the new id with a fresh
                timestamp; nothing is lost. The next sync sends them and pulls everything again.
                Works offline.
                """, zh: """
                用于以下情况：同步报告中心在本节点的某个变更编号下保存了不同的变更（副本文件是从备份恢复
                或复制而来，或有其他程序以本节点的编号发送了变更），或因时钟被调快太多导致变更被拒收。
                中心尚未确认的所有变更都移到新编号下并使用新的时间戳，不会丢失任何内容。下次同步时发送这些
                变更，并重新拉取全部数据。可离线使用。
                """))
        @OptionGroup var options: ReplicaOptions

        func run() async throws {
            let replica = try options.openNode()
            let report = try replica.reissue()
            print(L("this node is now replica \(report.newID) (was \(report.previousID)); \(report.reissued) unsynced changes moved to the new id and go out at the next `yuqing sync`, which also pulls everything again",
                    zh: "本节点现为副本 \(report.newID)（原为 \(report.previousID)）；\(report.reissued) 项未同步的变更已移到新编号下，将在下次 `yuqing sync` 时发出，届时也会重新拉取全部数据"))
        }
    }
}
