import Crypto
import Foundation

/// SHA-256 of a buffer in one call, without an allocation: what the seals' hot loops use (a
/// change's hash, the Merkle tree's nodes, a snapshot's check).
///
/// swift-crypto's `SHA256.hash` allocates a context object for every digest, which costs more
/// than hashing the 33- or 65-byte message of a Merkle node. The system's OpenSSL (`libcrypto`,
/// loaded already by libcurl, which the node's HTTP client runs on) hashes with a context on the
/// stack (`SHA256_Init`, `SHA256_Update`, `SHA256_Final`: its one-shot `SHA256` looks the
/// algorithm up at every call), with the processor's SHA instructions; when it cannot be found,
/// swift-crypto's is used. The two give the same digest (`SecurityTests` checks them against each
/// other).
public enum OneShotSHA256 {
    typealias Initialise = @convention(c) (UnsafeMutableRawPointer?) -> Int32
    typealias Update = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int32
    typealias Finish = @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutableRawPointer?) -> Int32
    struct Functions {
        let initialise: Initialise
        let update: Update
        let finish: Finish
    }

    /// OpenSSL's functions, or nil.
    static let system: Functions? = {
        for name in ["libcrypto.so.3", "libcrypto.so"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL), let i = dlsym(handle, "SHA256_Init"),
                  let u = dlsym(handle, "SHA256_Update"), let f = dlsym(handle, "SHA256_Final") else { continue }
            return Functions(initialise: unsafeBitCast(i, to: Initialise.self), update: unsafeBitCast(u, to: Update.self),
                             finish: unsafeBitCast(f, to: Finish.self))
        }
        return nil
    }()

    /// Whether the system's functions are used (else swift-crypto's).
    public static var usesSystemLibrary: Bool { system != nil }

    /// Writes SHA-256 of `data` into the 32 bytes at `out`.
    @inline(__always)
    public static func hash(_ data: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) {
        guard let system else { return swiftCrypto(data, into: out) }
        // SHA256_CTX is 112 bytes; 128 leaves room.
        withUnsafeTemporaryAllocation(byteCount: 128, alignment: 16) { context in
            _ = system.initialise(context.baseAddress)
            _ = system.update(context.baseAddress, data.baseAddress, data.count)
            _ = system.finish(out.assumingMemoryBound(to: UInt8.self), context.baseAddress)
        }
    }

    /// swift-crypto's digest, the fallback (and the reference the tests compare with).
    public static func swiftCrypto(_ data: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) {
        Crypto.SHA256.hash(data: data).withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: 32) }
    }
}
