import Crypto
import Foundation

/// Every request to the hub is signed by the device (or the operator) that makes it
/// (`Protocol/security.md` §2): the signature covers the method, the path with its query, the
/// signer, the time, a one-time nonce and the body's SHA-256, so a request cannot be altered,
/// replayed or presented by anyone else.
public enum RequestSigning {
    public static let signerHeader = "Yuqing-Signer"
    public static let timeHeader = "Yuqing-Time"
    public static let nonceHeader = "Yuqing-Nonce"
    public static let signatureHeader = "Yuqing-Signature"
    /// The signer name of the hub's operator credential.
    public static let operatorSigner = "operator"
    /// How far a request's time may be from the hub's clock.
    public static let maxSkewMillis: Int64 = 5 * 60 * 1000

    /// The signed text: `YUQING-REQUEST-1`, method, path and query, signer, time, nonce and the
    /// body's SHA-256 in hex, each on its own line.
    public static func message(method: String, target: String, signer: String, timeMillis: Int64, nonce: String, body: some DataProtocol) -> [UInt8] {
        let digest = Crypto.SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        return Array("YUQING-REQUEST-1\n\(method.uppercased())\n\(target)\n\(signer)\n\(timeMillis)\n\(nonce)\n\(digest)".utf8)
    }

    /// The headers that sign a request.
    public static func headers(method: String, target: String, body: some DataProtocol, signer: String, key: SigningKey,
                               timeMillis: Int64) -> [(String, String)] {
        var bytes = [UInt8](repeating: 0, count: 16)
        var g = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &g) }
        let nonce = bytes.map { String(format: "%02x", $0) }.joined()
        let signature = key.sign(message(method: method, target: target, signer: signer, timeMillis: timeMillis, nonce: nonce, body: body))
        return [(signerHeader, signer), (timeHeader, String(timeMillis)), (nonceHeader, nonce), (signatureHeader, signature.base64EncodedString())]
    }
}
