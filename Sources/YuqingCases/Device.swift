import YuqingCore

/// An enrolled device (`Protocol/security.md` §1): the record the hub writes when a node presents
/// its enrolment code, synced to every replica so that any of them can check the device's seals.
public struct Device: Hashable, Sendable {
    /// The device's replica id: the dots of its changes carry it.
    public var id: String
    /// Ed25519, base64.
    public var publicKey: String
    public var unit: String
    public var user: String
    public var enrolledAt: Int64?
    public var revokedAt: Int64?

    public var actor: Actor { Actor(user: user, unit: unit) }
    public var isRevoked: Bool { revokedAt != nil }

    /// Reads a device record; nil for another kind or one without its key.
    public init?(_ view: RecordView) {
        guard view.record.kind == CaseSchema.Kind.device, let key = view.value(CaseSchema.DeviceField.publicKey)?.description,
              let unit = view.value(CaseSchema.DeviceField.unit)?.description,
              let user = view.value(CaseSchema.DeviceField.user)?.description else { return nil }
        id = view.record.id
        publicKey = key
        self.unit = unit
        self.user = user
        if case .integer(let n)? = view.value(CaseSchema.DeviceField.enrolledAt) { enrolledAt = n }
        if case .integer(let n)? = view.value(CaseSchema.DeviceField.revokedAt) { revokedAt = n }
    }

    public static func ref(_ id: String) -> RecordRef { RecordRef(kind: CaseSchema.Kind.device, id: id) }

    /// The writes that enrol a device.
    public static func enrolment(id: String, publicKey: String, unit: String, user: String, at millis: Int64) -> [FieldWrite] {
        let r = ref(id), F = CaseSchema.DeviceField.self
        return [
            FieldWrite(r, FieldKey(F.publicKey), .text(publicKey)),
            FieldWrite(r, FieldKey(F.unit), .text(unit)),
            FieldWrite(r, FieldKey(F.user), .text(user)),
            FieldWrite(r, FieldKey(F.enrolledAt), .integer(millis)),
        ]
    }

    /// The write that revokes it.
    public static func revocation(id: String, at millis: Int64) -> [FieldWrite] {
        [FieldWrite(ref(id), FieldKey(CaseSchema.DeviceField.revokedAt), .integer(millis))]
    }
}
