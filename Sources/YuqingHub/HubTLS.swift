import Foundation
import NIOSSL
import YuqingCore
import YuqingSecurity

/// The certificate and key the hub serves HTTPS with (`Protocol/security.md` §6), read from PEM
/// files, and what nodes pin: the CA that signed the certificate when one is given, else the
/// certificate itself (a self-signed certificate is its own anchor).
public struct HubTLS: Sendable {
    public let configuration: TLSConfiguration
    /// The PEM text nodes pin, carried to them in the enrolment code file.
    public let pinnedPEM: String
    /// SHA-256 of the first pinned certificate's DER bytes, in hex: what the start-up line shows.
    public let fingerprint: String

    /// Reads `certificate` (PEM: the hub's certificate, then any intermediates), `key` (PEM) and
    /// optionally `ca` (PEM: the anchor nodes pin instead of the certificate).
    public init(certificate: String, key: String, ca: String? = nil) throws {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw TLSFileError("cannot read the certificate \(certificate) (\(error)); give a PEM file (-----BEGIN CERTIFICATE-----)",
                               zh: "无法读取证书 \(certificate)（\(error)）；请提供 PEM 文件（`-----BEGIN CERTIFICATE-----`）")
        }
        guard !chain.isEmpty else {
            throw TLSFileError("\(certificate) holds no certificate; give a PEM file (-----BEGIN CERTIFICATE-----)",
                               zh: "\(certificate) 中没有证书；请提供 PEM 文件（`-----BEGIN CERTIFICATE-----`）")
        }
        let privateKey: NIOSSLPrivateKey
        do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
            throw TLSFileError("cannot read the private key \(key) (\(error)); give an unencrypted PEM key file",
                               zh: "无法读取私钥 \(key)（\(error)）；请提供未加密的 PEM 私钥文件")
        }
        let anchorPath = ca ?? certificate
        let anchors: [NIOSSLCertificate]
        do { anchors = try NIOSSLCertificate.fromPEMFile(anchorPath) } catch {
            throw TLSFileError("cannot read the CA certificate \(anchorPath) (\(error)); give a PEM file",
                               zh: "无法读取 CA 证书 \(anchorPath)（\(error)）；请提供 PEM 文件")
        }
        guard let pem = try? String(contentsOfFile: anchorPath, encoding: .utf8), let first = anchors.first else {
            throw TLSFileError("\(anchorPath) holds no certificate; give a PEM file",
                               zh: "\(anchorPath) 中没有证书；请提供 PEM 文件")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        tls.minimumTLSVersion = .tlsv12
        do { _ = try NIOSSLContext(configuration: tls) } catch {
            throw TLSFileError("the certificate \(certificate) and the key \(key) cannot serve together (\(error)); give the key that belongs to the certificate",
                               zh: "证书 \(certificate) 与私钥 \(key) 不匹配，无法一起使用（\(error)）；请提供与该证书对应的私钥")
        }
        configuration = tls
        pinnedPEM = PEM.certificateBlocks(pem)
        fingerprint = SHA256Hex.of(try first.toDERBytes())
    }

    /// The hub setting that keeps what nodes pin, for `yuqing hub enrol` to put in code files.
    public static let pinSetting = "app.tls.pin"
}

/// A certificate or key file the hub cannot use, with what to give instead, in English
/// (``description``, also ``message``) and in Simplified Chinese (``chinese``).
public struct TLSFileError: BilingualError, CustomStringConvertible {
    public var description: String
    /// The same in Simplified Chinese.
    public var chinese: String
    public var message: String { description }
    public init(_ description: String, zh chinese: String) {
        self.description = description
        self.chinese = chinese
    }
}
