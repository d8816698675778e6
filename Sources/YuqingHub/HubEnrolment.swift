import Foundation
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingSecurity

/// What the operator does to devices at the hub, from the command line or the console: make a
/// one-time enrolment code (adding the unit and the user when they are new) and revoke a device.
/// Both write at the hub's storage (SQLite or PostgreSQL), as the operator.
package enum HubEnrolment {
    /// The author of what the operator writes at the hub.
    package static let operatorAuthor = "operator@hub"

    /// Makes a code that enrols one device for `user` of `unit`, valid `validHours`, and stores
    /// its digest. Returns the code (shown once: only its digest is kept).
    package static func issue(on hub: some HubStorage, unit: String, user: String, roles: [Role], name: String?, validHours: Int,
                              now: Int64, author: String = operatorAuthor) async throws -> String {
        if let e = Identifier.error(unit, what: "unit") { throw e }
        if let e = Identifier.error(user, what: "user") { throw e }
        guard (1...24 * 90).contains(validHours) else {
            throw WorkflowError(.input, "a code is valid for 1 to 2160 hours", zh: "注册码的有效期须为1至2160小时")
        }
        let org = Organisation(try await hub.views(kinds: Organisation.kinds))
        var writes: [FieldWrite] = []
        if org.units[unit] == nil { writes += try OrganisationWrites.unit(unit, name: nil, parent: nil) }
        if let known = org.users[user] {
            guard known.unit == unit else {
                throw WorkflowError(.input, "user \(user) belongs to \(known.unit), not \(unit)", zh: "用户\(user)属于\(known.unit)，不属于\(unit)")
            }
            if !roles.isEmpty, !Set(roles).isSubset(of: known.roles) {
                writes += try OrganisationWrites.user(user, name: name ?? known.name, unit: unit, roles: roles)
            }
        } else {
            guard !roles.isEmpty else {
                throw WorkflowError(.input, "\(user) is a new user: give their roles (--role: \(Role.names))",
                                    zh: "\(user)是新用户：请给出其角色（--role：\(Role.names)）")
            }
            writes += try OrganisationWrites.user(user, name: name, unit: unit, roles: roles)
        }
        if !writes.isEmpty { try await hub.writeAsHub(writes.map { ($0.record, $0.field, $0.value) }, author: author) }
        let code = OneTimeCode.make()
        let expires = now + Int64(validHours) * 3_600_000
        try await hub.setSetting(HubSecurity.enrolmentKey(code), HubSecurity.Enrolment(unit: unit, user: user, expiresAt: expires).stored)
        return code
    }

    /// Revokes `device`; false when it was revoked already.
    package static func revoke(on hub: some HubStorage, device id: String, now: Int64, author: String = operatorAuthor) async throws -> (device: Device, revoked: Bool) {
        guard let view = try await hub.view(Device.ref(id)), let d = Device(view) else {
            throw WorkflowError(.input, "no device \(id) is enrolled at this hub", zh: "本中心没有已注册的设备\(id)")
        }
        if d.isRevoked { return (d, false) }
        try await hub.writeAsHub(Device.revocation(id: id, at: now).map { ($0.record, $0.field, $0.value) }, author: author)
        return (d, true)
    }
}
