import Foundation
import YuqingCore
import YuqingReplica
import YuqingSecurity
import YuqingWire

/// A node's identity towards its hub (`Protocol/security.md`): its private key, kept beside the
/// replica in a file only its owner may read, and what enrolment taught it (the hub's key).
public struct NodeSecurity: Sendable {
    public let key: SigningKey
    /// The hub's key, learnt at enrolment; nil before.
    public let hubKey: PublicKey?
    /// The hub's certificate (or CA), PEM, pinned at enrolment with an https hub; nil before.
    public var hubCertificates: String?
    /// Where device keys are kept in the records.
    public let keys: KeyLocation

    /// The key file of the replica at `path`.
    public static func keyPath(forReplica path: String) -> String { path + ".key" }

    /// The meta attribute that holds the hub's key after enrolment.
    public static let hubKeyAttribute = "hub_key"
    /// The meta attribute that holds the hub's pinned certificate after enrolment.
    public static let hubCertificateAttribute = "hub_certificate"

    public init(key: SigningKey, hubKey: PublicKey?, keys: KeyLocation) {
        self.key = key
        self.hubKey = hubKey
        self.keys = keys
    }

    /// Loads the node's key and what it knows of its hub. Nil when the replica has no key file
    /// (made before devices were enrolled): it syncs only with a hub that does not authenticate.
    public static func load(replica: Replica, keys: KeyLocation) throws -> NodeSecurity? {
        let path = keyPath(forReplica: replica.path)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let key = try SigningKey.load(from: path)
        let hubKey = try replica.attribute(hubKeyAttribute).map { try PublicKey(base64: $0) }
        var security = NodeSecurity(key: key, hubKey: hubKey, keys: keys)
        security.hubCertificates = try replica.attribute(hubCertificateAttribute)
        return security
    }

    /// The credential that signs this node's requests, with the device clock corrected by what
    /// the hub said.
    public func credential(for replica: Replica) -> HubClient.Credential {
        HubClient.Credential(signer: replica.id.rawValue, key: key) {
            Int64(replica.deviceClock()) + ((try? replica.clockOffset()) ?? 0)
        }
    }

    /// Seals for a push: one per run of this node's consecutive counters in it.
    public func seals(for changes: [Change], replica: ReplicaID) throws -> [Seal] {
        try Seal.runs(of: changes, replica: replica).map { try Seal.make($0, key: key) }
    }

    /// Checks received seals against the device keys the node holds, and the hub's own key.
    public func verifier(hub: ReplicaID) -> DeviceSealVerifier { DeviceSealVerifier(hub: hub, hubKey: hubKey) }
}

/// Checks the seals of changes a node receives: each device's run against that device's key
/// (from its device record), the hub's own changes against the key the node learnt at enrolment.
public struct DeviceSealVerifier: SealVerifier {
    public let hub: ReplicaID
    public let hubKey: PublicKey?

    public func hash(_ change: Change, buffer: inout [UInt8]) -> [UInt8] { ChangeHash.hash(change, buffer: &buffer) }

    public func verify(_ seal: Seal, leaves: [UInt64: [UInt8]], proof: [[UInt8]], key: (ReplicaID) throws -> String?) throws {
        let publicKey: PublicKey
        if seal.replica == hub {
            guard let hubKey else {
                throw SyncError(.tampered, "changes signed by the hub arrived before this node learnt the hub's key; enrol the node (`yuqing node enrol`)",
                                zh: "收到了中心签名的变更，但本节点尚未获知中心的密钥；请注册本节点（`yuqing node enrol`）")
            }
            publicKey = hubKey
        } else {
            guard let text = try key(seal.replica) else {
                throw SyncError(.tampered, "the hub sent changes sealed by \(seal.replica), which is no enrolled device this node knows: they may be forged. Nothing of this page was applied; tell the office",
                                zh: "中心发来了由 \(seal.replica) 封签的变更，但它不是本节点所知的已注册设备：这些变更可能是伪造的。本页内容均未应用；请告知舆情工作办公室")
            }
            publicKey = try PublicKey(base64: text)
        }
        do { try seal.verify(leaves: leaves, proof: proof, key: publicKey) } catch {
            throw SyncError(.tampered, "the hub sent changes \(seal.replica):\(seal.first)...\(seal.last) that are not what \(seal.replica == hub ? "the hub" : "device \(seal.replica)") signed: they were altered or forged. Nothing of this page was applied; tell the office",
                            zh: "中心发来的变更 \(seal.replica):\(seal.first)...\(seal.last) 与\(seal.replica == hub ? "中心" : "设备 \(seal.replica) ")所签名的内容不符：它们被篡改或伪造。本页内容均未应用；请告知舆情工作办公室")
        }
    }
}
