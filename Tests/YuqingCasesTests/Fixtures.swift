import Foundation
@testable import YuqingCases
import YuqingCore

/// A small organisation: the office, two units, one user per role.
enum Fixture {
    static let users: [(id: String, unit: String, roles: [Role])] = [
        ("li", "town-a", [.monitor, .commentator]),
        ("wang", "town-a", [.unitHead]),
        ("sun", "bureau-b", [.monitor]),
        ("zhou", "bureau-b", [.unitHead]),
        ("chen", "office", [.office]),
        ("zhao", "office", [.leader]),
        ("qian", "office", [.spokesperson]),
        ("op", "office", [.operator]),
    ]

    static let org: Organisation = {
        var org = Organisation()
        for u in ["office", "town-a", "bureau-b"] { org.units[u] = .init(id: u, name: u, parent: u == "office" ? nil : "office") }
        for u in users { org.users[u.id] = .init(id: u.id, name: u.id, unit: u.unit, roles: Set(u.roles)) }
        return org
    }()

    static func actor(_ user: String) -> Actor { Actor(user: user, unit: org.users[user]!.unit) }

    /// Deterministic ids.
    final class IDs: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func next(_ prefix: String) -> String { lock.withLock { n += 1; return prefix + String(format: "%06d", n) } }
    }

    static func planner(_ user: String, now: Int64, ids: IDs = IDs()) -> Planner {
        Planner(actor: actor(user), roles: org.users[user]!.roles, org: org, now: now, newID: { ids.next($0) })
    }
}

/// One case on one in-memory replica, driven through the planner as the CLI drives it.
struct Desk {
    var replica: ReplicaState
    var caseID: String?
    var now: Int64 = 1_800_000_000_000
    let ids = Fixture.IDs()

    init(_ name: String = "r") { replica = ReplicaState(id: ReplicaID(name), schema: CaseSchema.schema) }

    var file: CaseFile? {
        guard let caseID else { return nil }
        let view = replica.view(CaseSchema.caseRef(caseID))
        return view.fields.isEmpty ? nil : CaseFile(view)
    }

    /// Plans and writes `action` as `user`; the changes made.
    @discardableResult
    mutating func take(_ user: String, _ action: CaseAction, minutes: Int64 = 1) throws(WorkflowError) -> [Change] {
        now += minutes * 60_000
        let plan = try Fixture.planner(user, now: now, ids: ids).plan(action, on: file)
        caseID = plan.caseID
        return plan.writes.map { replica.write($0.record, $0.field, $0.value, author: Fixture.actor(user).author, physicalMillis: UInt64(now)) }
    }

    func draft(_ n: Int = 0) -> String { file!.state.replies[n].id }
}
