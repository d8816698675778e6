import Foundation
import YuqingCases
import YuqingReplica
import YuqingSecurity
import YuqingSync

/// How a node reaches its hub: the client, signed with the node's key when it has one.
enum HubLink {
    /// Where device keys live in the records.
    static let keys = KeyLocation(kind: CaseSchema.Kind.device, field: CaseSchema.DeviceField.publicKey)

    static func open(_ replica: Replica, url: String, timeout: TimeInterval = 30) throws -> (HubClient, NodeSecurity?) {
        let security: NodeSecurity?
        do { security = try NodeSecurity.load(replica: replica, keys: keys) } catch let error as SecurityError {
            throw CLIError(error.message)
        }
        let client = try HubClient(hubURL: url, timeout: timeout, credential: security?.credential(for: replica))
        return (client, security)
    }

    /// The operator's signed client for `url`, from `--operator-key`, else `YUQING_OPERATOR_KEY`.
    static func operatorClient(url: String, keyPath: String?) throws -> HubClient {
        guard let path = keyPath ?? ProcessInfo.processInfo.environment["YUQING_OPERATOR_KEY"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            return try HubClient(hubURL: url)
        }
        let key: SigningKey
        do { key = try SigningKey.load(from: path) } catch { throw CLIError(error.message) }
        return try HubClient(hubURL: url, credential: HubClient.Credential(signer: RequestSigning.operatorSigner, key: key) {
            Int64(Date().timeIntervalSince1970 * 1000)
        })
    }

    /// What a refusal of this device's credential means for the person at the node.
    static func explain(_ error: SyncError, replica: Replica) -> CLIError {
        let pending = (try? replica.pendingCount()) ?? 0
        return CLIError("\(error.message). Your work stays saved on this node (\(pending) changes waiting).", exitCode: 5)
    }
}
