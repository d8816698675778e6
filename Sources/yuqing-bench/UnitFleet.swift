import Foundation
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingSecurity
import YuqingSync

/// Units as a county deploys them: each unit one user, a monitor and commentator (not the
/// office, so a hub serves each only its unit's cases), and that user's device enrolled with its
/// own key. Each unit registers its own cases, in its own words.
struct UnitFleet {
    static let roles: Set<Role> = [.monitor, .commentator]
    let keys: [SigningKey]
    let ids: [ReplicaID]
    /// The units, users and enrolled devices, for the hub's operator to write.
    let organisation: [FieldWrite]

    init(units: Int, prefix: String) throws {
        var keys: [SigningKey] = [], ids: [ReplicaID] = [], org: [FieldWrite] = []
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for k in 0..<units {
            let key = SigningKey(), id = ReplicaID("\(prefix)-node-\(k)")
            keys.append(key)
            ids.append(id)
            org += try OrganisationWrites.unit(WorkflowWorkload.unit(k), name: WorkflowWorkload.places[k % 10] + String(k), parent: nil)
            org += try OrganisationWrites.user(WorkflowWorkload.user(k), name: "用户\(k)", unit: WorkflowWorkload.unit(k), roles: Array(Self.roles))
            org += Device.enrolment(id: id.rawValue, publicKey: key.publicKey.base64, unit: WorkflowWorkload.unit(k), user: WorkflowWorkload.user(k), at: now)
        }
        self.keys = keys
        self.ids = ids
        organisation = org
    }

    /// Writes the organisation into a new SQLite hub at `db`, as its operator.
    func writeHub(_ db: String) async throws {
        let storage = try SQLiteHubStorage(path: db, schema: CaseSchema.schema)
        try await storage.writeAsHub(organisation.map { ($0.record, $0.field, $0.value) })
    }

    /// Unit `k`'s node at `path`, syncing with `hub` (whose key is `hubKey`) as its enrolled device.
    func node(_ k: Int, at path: String, hub: String, hubKey: PublicKey) throws -> Node {
        let replica = try Replica.create(at: path, role: .node, unit: WorkflowWorkload.unit(k), hubURL: hub, id: ids[k], schema: CaseSchema.schema)
        try replica.setAttribute("user", WorkflowWorkload.user(k))
        let security = NodeSecurity(key: keys[k], hubKey: hubKey, keys: KeyLocation(kind: CaseSchema.Kind.device, field: CaseSchema.DeviceField.publicKey))
        let session = SyncSession(replica: replica, client: try HubClient(hubURL: hub, credential: security.credential(for: replica)), security: security)
        let actor = Actor(user: WorkflowWorkload.user(k), unit: WorkflowWorkload.unit(k))
        var known = Organisation()
        known.users[actor.user] = .init(id: actor.user, name: actor.user, unit: actor.unit, roles: Self.roles)
        let planner = Planner(actor: actor, roles: Self.roles, org: known, now: Int64(Date().timeIntervalSince1970 * 1000),
                              newID: { $0 + String(format: "%07d", k) + UUID().uuidString.prefix(6) })
        return Node(k: k, session: session, planner: planner, actor: actor)
    }

    /// One unit's node: its sync session and the planner its user registers cases with.
    struct Node {
        let k: Int
        let session: SyncSession
        let planner: Planner
        let actor: Actor

        /// Registers `count` cases of this unit (about 7 changes each), each title and summary its own.
        func register(_ count: Int, round: Int) throws {
            for c in 0..<count {
                var r = Registration(title: "\(WorkflowWorkload.places[k % 10])\(WorkflowWorkload.subjects[(k + c) % 10])问题（单位\(k)第\(round)轮第\(c)起）")
                r.summary = "网民反映\(WorkflowWorkload.issues[(k + round + c) % 10])，编号\(k * 97 + round * 13 + c)"
                let writes = try planner.plan(.register(r), on: nil).writes
                try session.replica.write(writes.map { Replica.Write($0.record, $0.field, $0.value) }, author: actor.author)
            }
        }
    }
}
