import Foundation
import YuqingCases
import YuqingCore
import YuqingReplica

/// A node's replica with who works on it: the user, their unit and roles, and the organisation
/// and settings as this node last received them.
struct NodeContext {
    let replica: Replica
    let actor: Actor
    let roles: Set<Role>
    let org: Organisation

    /// Opens the node's replica for work and reads who works on it.
    static func open(_ options: ReplicaOptions) throws -> NodeContext {
        let replica = try options.openNode()
        let info = try replica.info()
        guard let user = try replica.attribute("user") else {
            throw CLIError("this node has no user yet (it was made before users existed); set one with `yuqing node user --user NAME --role ROLE`",
                           zh: "本节点尚未设置用户（该节点创建于引入用户之前）；请用 `yuqing node user --user NAME --role ROLE` 设置")
        }
        let org = Organisation(try replica.views(kinds: Organisation.kinds))
        // The organisation as received has the last word; the roles given at `node init` serve
        // until it arrives.
        let roles: Set<Role>
        if let known = org.users[user] {
            if known.unit != info.unit {
                throw CLIError("user \(user) belongs to \(known.unit) in the organisation, but this node works for \(info.unit); initialise a node for \(known.unit)",
                               zh: "在组织机构中，用户 \(user) 属于 \(known.unit)，而本节点属于 \(info.unit)；请为 \(known.unit) 创建节点")
            }
            roles = known.roles
        } else {
            roles = Set((try replica.attribute("roles") ?? "").split(separator: ",").compactMap { Role(name: String($0)) })
        }
        return NodeContext(replica: replica, actor: Actor(user: user, unit: info.unit), roles: roles, org: org)
    }

    var now: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    func planner() -> Planner {
        Planner(actor: actor, roles: roles, org: org, now: now, newID: { prefix in RecordIDs.make(prefix) })
    }

    /// The case `id`, or a message saying how to find one.
    func file(_ id: String) throws -> CaseFile {
        try CaseLookup.file(id, in: replica)
    }

    /// Checks `action` against the roles and the workflow, then writes it. Returns the case id.
    @discardableResult
    func perform(_ action: CaseAction, on id: String?) throws -> String {
        let file = try id.map { try self.file($0) }
        let plan: (caseID: String, writes: [FieldWrite])
        do { plan = try planner().plan(action, on: file) } catch { throw CLIError(error) }
        try replica.write(plan.writes.map { Replica.Write($0.record, $0.field, $0.value) }, author: actor.author)
        return plan.caseID
    }
}

enum CaseLookup {
    static func file(_ id: String, in replica: Replica) throws -> CaseFile {
        guard let view = try replica.view(CaseSchema.caseRef(id)) else {
            throw CLIError("no case \(id) on this node; `yuqing case list` shows the cases here (sync to receive others')",
                           zh: "本节点没有案件 \(id)；可用 `yuqing case list` 查看本节点的案件（同步后可收到其他案件）")
        }
        return CaseFile(view)
    }

    static func all(in replica: Replica) throws -> [CaseFile] {
        try replica.views(kinds: [CaseSchema.Kind.case]).map(CaseFile.init)
    }
}

/// Times as users type them: `2026-11-22T18:00` (office time), a full ISO 8601 time with its
/// zone, or from now: `+30s`, `+30m`, `+2h`, `+3d`.
enum TimeInput {
    static func parse(_ text: String, now: Int64, utcOffsetMinutes: Int64) throws -> Int64 {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("+"), let unit = t.last, let n = Int64(t.dropFirst().dropLast()), n >= 0 {
            let seconds: Int64? = switch unit { case "s": n; case "m": n * 60; case "h": n * 3600; case "d": n * 86_400; default: nil }
            if let seconds { return now + seconds * 1000 }
        }
        let full = ISO8601DateFormatter()
        if let d = full.date(from: t) { return Int64(d.timeIntervalSince1970 * 1000) }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = TimeZone(secondsFromGMT: Int(utcOffsetMinutes) * 60)
        for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
            local.dateFormat = format
            if let d = local.date(from: t) { return Int64(d.timeIntervalSince1970 * 1000) }
        }
        throw CLIError("'\(text)' is not a time; write 2026-11-22T18:00 (office time), an ISO 8601 time with its zone, or +30m, +2h, +3d (+30s for seconds)",
                       zh: "“\(text)”不是有效的时间；请写成 2026-11-22T18:00（按办公室所在时区）、带时区的 ISO 8601 时间，或 +30m、+2h、+3d（秒用 +30s）")
    }

    /// A time in the office's zone, to the minute.
    static func show(_ millis: Int64, utcOffsetMinutes: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(secondsFromGMT: Int(utcOffsetMinutes) * 60)
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}
