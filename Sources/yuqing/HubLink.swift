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
            throw CLIError(error)
        }
        let client: HubClient
        do {
            client = try HubClient(hubURL: url, timeout: timeout, credential: security?.credential(for: replica),
                                   pinnedCertificates: security?.hubCertificates)
        } catch let error as SyncError where error.code == .tlsUntrusted { throw CLIError(error, exitCode: 5) }
        return (client, security)
    }

    /// The operator's signed client for `url`, from `--operator-key`, else `YUQING_OPERATOR_KEY`;
    /// an https hub's certificate from `certificatePath`, else `YUQING_HUB_CERT`.
    static func operatorClient(url: String, keyPath: String?, certificatePath: String? = nil) throws -> HubClient {
        let env = ProcessInfo.processInfo.environment
        var pem: String?
        if let path = certificatePath ?? env["YUQING_HUB_CERT"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CLIError("cannot read the hub certificate \(path)", zh: "无法读取中心证书\(path)")
            }
            pem = text
        }
        var credential: HubClient.Credential?
        if let path = keyPath ?? env["YUQING_OPERATOR_KEY"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let key: SigningKey
            do { key = try SigningKey.load(from: path) } catch { throw CLIError(error) }
            credential = HubClient.Credential(signer: RequestSigning.operatorSigner, key: key) { Int64(Date().timeIntervalSince1970 * 1000) }
        }
        do { return try HubClient(hubURL: url, credential: credential, pinnedCertificates: pem) } catch let error as SyncError {
            throw CLIError(error, exitCode: 5)
        }
    }

    /// What a refusal of this device's credential means for the person at the node.
    static func explain(_ error: SyncError, replica: Replica) -> CLIError {
        let pending = (try? replica.pendingCount()) ?? 0
        return CLIError("\(error.message). Your work stays saved on this node (\(pending) changes waiting).",
                        zh: "\(sentence(error.chinese))工作内容仍保存在本节点（\(pending)项变更待同步）。", exitCode: 5)
    }

    /// A Chinese message as a sentence: ended with “。” unless it ends with a full stop already.
    static func sentence(_ chinese: String) -> String {
        guard let last = chinese.last else { return chinese }
        if "。！？".contains(last) { return chinese }
        if last == "." || last == "；" || last == ";" { return String(chinese.dropLast()) + "。" }
        return chinese + "。"
    }
}
