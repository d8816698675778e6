import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// HTTPS to a hub whose certificate, or the CA that signed it, this node pinned at enrolment
/// (`Protocol/security.md` §6): only those certificates are trusted, never the system's store, and
/// the name in the hub's URL must be one the certificate names.
///
/// On AsyncHTTPClient (SwiftNIO and BoringSSL): URLSession on Linux runs on libcurl, whose trust
/// store cannot be set per request there, so it cannot pin.
struct PinnedHTTPS: Sendable {
    let tls: TLSConfiguration
    /// The largest answer read (a pull page or an evidence chunk is far smaller).
    static let maxBody = 256 << 20

    /// Trusts exactly the certificates of `pem`.
    init(pem: String) throws {
        let anchors: [NIOSSLCertificate]
        do { anchors = try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)) } catch {
            throw SyncError(.invalidURL, "the hub certificate this node pinned cannot be read (\(error)); enrol again with the code file from `yuqing hub enrol`, or give --hub-cert",
                            zh: "无法读取本节点固定（pin）的中心证书（\(error)）；请用 `yuqing hub enrol` 生成的注册码文件重新注册，或用 `--hub-cert` 指定证书")
        }
        guard !anchors.isEmpty else {
            throw SyncError(.invalidURL, "the pinned hub certificate holds no certificate; enrol again with the code file from `yuqing hub enrol`, or give --hub-cert",
                            zh: "所固定的中心证书中没有任何证书；请用 `yuqing hub enrol` 生成的注册码文件重新注册，或用 `--hub-cert` 指定证书")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(anchors)
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        self.tls = tls
    }

    /// One client for the process (never shut down, like `HTTPClient.shared`), which fails a
    /// request at once when the connection cannot be made (refused, or a certificate not the
    /// pinned one) rather than trying again until its deadline: the sync schedule retries.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// One request; the status and the body, or an error that says why there are none.
    func send(_ method: String, _ url: URL, headers: [(String, String)], body: Data?, timeout: TimeInterval) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        request.tlsConfiguration = tls
        let response = try await Self.client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let bytes = try await response.body.collect(upTo: Self.maxBody)
        return (Int(response.status.code), Data(bytes.readableBytesView))
    }

    /// Says why an HTTPS request got no answer, in words.
    static func unreachable(_ error: any Error, baseURL: URL, timeout: TimeInterval) -> SyncError {
        let hub = baseURL.absoluteString
        let text = String(describing: error)
        // Only a certificate that does not verify (not the pinned one, or not naming the host)
        // means another server: a reset or an unclean close during the handshake is the network.
        let untrusted = text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("unableToValidateCertificate")
            || text.contains("HOSTNAME_MISMATCH") || text.contains("leafCertificateRejected") || text.contains("hostname")
        if untrusted {
            return SyncError(.tlsUntrusted, "the hub at \(hub) did not prove it is the hub this node pinned at enrolment (\(text)): its certificate is not the pinned one, or does not name \(baseURL.host ?? "this host"). If the hub has a new certificate, enrol again or give --hub-cert with it; otherwise something is between this node and its hub, so tell the office",
                             zh: "位于 \(hub) 的服务器未能证明它就是本节点注册时所固定的中心（\(text)）：其证书不是所固定的证书，或未包含主机名 \(baseURL.host ?? "此主机")。如果中心换了新证书，请重新注册，或用 `--hub-cert` 指定新证书；否则本节点与中心之间可能有他方介入，请告知舆情工作办公室")
        }
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout:
                return SyncError(.hubUnreachable, "the hub at \(hub) did not answer within \(Int(timeout)) seconds (it may be overloaded or stopped)",
                                 zh: "位于 \(hub) 的中心在 \(Int(timeout)) 秒内没有应答（可能负载过高或已停止）")
            case .remoteConnectionClosed:
                return SyncError(.hubUnreachable, "the connection to the hub at \(hub) was lost", zh: "与位于 \(hub) 的中心的连接已断开")
            default: break
            }
        }
        if text.contains("connectionRefused") || text.contains("Connection refused") {
            return SyncError(.hubUnreachable, "the hub at \(hub) refused the connection (is it running?)", zh: "位于 \(hub) 的中心拒绝了连接（中心是否在运行？）")
        }
        return SyncError(.hubUnreachable, "the hub at \(hub) is unreachable (\(text))", zh: "无法连接位于 \(hub) 的中心（\(text)）")
    }
}
