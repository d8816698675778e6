import Foundation
import YuqingCases
import YuqingCore
import YuqingTestSupport

/// Cases as units really make them: each unit registers its own cases with distinct Chinese text
/// and takes them through the workflow (quick report, assessment, assignment, reports, heat, a
/// reply drafted, signed, sometimes returned and revised, approved, published, archived), every
/// write made by the domain's `Planner` as the CLI makes it. Deterministic for a seed.
enum WorkflowWorkload {
    static let places = ["城关镇", "东坝乡", "河西街道", "青石镇", "南山村", "北湖社区", "新华路", "高新区", "柳树屯", "石门乡"]
    static let subjects = ["卫生院", "中心小学", "派出所", "自来水厂", "敬老院", "农贸市场", "公交站", "社区医院", "幼儿园", "供电所"]
    static let issues = ["收费偏高", "服务态度差", "拖欠工资", "噪音扰民", "道路破损", "排队时间长", "食品安全", "停水停电", "违规占道", "补贴未发放"]
    static let findings = ["已联系发帖人核实情况", "调阅了相关记录", "现场查看后确认问题存在", "约谈了单位负责人", "情况与帖子所述不符", "已责令限期整改"]

    /// Every unit's roles in the benchmark: all the steps of its own cases on one node.
    static let roles: Set<Role> = [.monitor, .commentator, .unitHead, .office, .leader, .spokesperson]

    static func unit(_ k: Int) -> String { "unit-\(k)" }
    static func user(_ k: Int) -> String { "user-\(k)" }

    /// The organisation the hub must hold for the changes to pass its rules.
    static func organisation(units: Int) -> [FieldWrite] {
        var out: [FieldWrite] = []
        for k in 0..<units {
            let name: String = places[k % places.count] + String(k)
            out += (try? OrganisationWrites.unit(unit(k), name: name, parent: nil)) ?? []
            out += (try? OrganisationWrites.user(user(k), name: "用户" + String(k), unit: unit(k), roles: Array(roles))) ?? []
        }
        return out
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        let prefix: String
        init(_ prefix: String) { self.prefix = prefix }
        func next(_ p: String) -> String { lock.withLock { n += 1; return p + prefix + String(n, radix: 36) } }
    }

    /// About `count` changes of node `k`, in the order the node made them.
    static func changes(node k: Int, count: Int, seed: UInt64 = 1) -> [Change] {
        var rng = SeededRandom(seed: seed &+ UInt64(k) &* 0x9E37)
        var replica = ReplicaState(id: IngestWorkload.replicaID(k), schema: CaseSchema.schema)
        let actor = Actor(user: user(k), unit: unit(k))
        let ids = Counter("\(k)x")
        var now: Int64 = 1_790_000_000_000 + Int64(k) * 1000
        var out: [Change] = []
        var n = 0
        func take(_ action: CaseAction, _ id: String?) -> String? {
            now += Int64(rng.next() % 600_000)
            let planner = Planner(actor: actor, roles: roles, org: Organisation(), now: now, newID: { ids.next($0) })
            let file = id.map { CaseFile(replica.view(CaseSchema.caseRef($0))) }
            guard let plan = try? planner.plan(action, on: file) else { return nil }
            for w in plan.writes {
                out.append(replica.write(w.record, w.field, w.value, author: actor.author, physicalMillis: UInt64(now)))
            }
            return plan.caseID
        }
        while out.count < count {
            n += 1
            let r = Int(rng.next() % 1000)
            let place = places[(k + r) % places.count], subject = subjects[r % subjects.count], issue = issues[(r / 10) % issues.count]
            var reg = Registration(title: "\(place)\(subject)\(issue)，网民反映第\(n)起")
            reg.summary = "有网民在论坛发帖称\(place)\(subject)存在\(issue)问题，浏览量约\(100 + r * 7)次。"
            reg.platform = Platform.allCases[r % Platform.allCases.count]
            reg.url = "https://bbs.example.cn/t/\(k)\(n)\(r)"
            reg.category = Category.allCases[r % 4]
            reg.level = ["IV", "III", "III", "II"][r % 4]
            reg.keywords = [issue]
            guard let id = take(.register(reg), nil) else { continue }
            _ = take(.quickReport("帖子属实存在，已截图取证（第\(n)起）。"), id)
            _ = take(.assess(category: reg.category, level: reg.level, opinion: "由\(unit(k))牵头核实\(issue)问题。"), id)
            _ = take(.assign(lead: unit(k), coUnits: [], deadline: now + 86_400_000, instruction: "请尽快核实并回复。"), id)
            _ = take(.report(.progress, "\(findings[r % findings.count])，第\(n)起。"), id)
            _ = take(.heat(views: Int64(100 + r * 7), comments: Int64(r % 50), reposts: Int64(r % 9)), id)
            _ = take(.draft(text: "经核实，\(place)\(subject)\(issue)一事\(findings[(r + 1) % findings.count])，特此回复。", revises: nil), id)
            let file = CaseFile(replica.view(CaseSchema.caseRef(id)))
            guard let draft = file.state.replies.last?.id else { continue }
            _ = take(.sign(draft: draft), id)
            var approved = draft
            if r % 4 == 0 {
                _ = take(.returnDraft(draft: draft, reason: "请补充整改措施（第\(n)起）。"), id)
                _ = take(.draft(text: "经核实并整改，\(place)\(subject)\(issue)一事已处理完毕（第\(n)起）。", revises: draft), id)
                approved = CaseFile(replica.view(CaseSchema.caseRef(id))).state.replies.last!.id
                _ = take(.sign(draft: approved), id)
            }
            _ = take(.approve(draft: approved, note: nil), id)
            _ = take(.publish(draft: approved, link: "https://bbs.example.cn/t/\(k)\(n)\(r)#reply"), id)
            if r % 3 == 0 { _ = take(.archive(note: nil), id) }
        }
        return Array(out.prefix(count))
    }
}
