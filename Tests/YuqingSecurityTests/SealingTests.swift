import Foundation
import Testing
import YuqingCore
import YuqingSecurity
import YuqingTestSupport

@Suite struct SealingTests {
    /// The seals' SHA-256 through the system's OpenSSL gives swift-crypto's digest, for every
    /// length around the block sizes and for long messages; on this Debian system it is used.
    @Test func theOneShotDigestIsSwiftCryptosDigest() {
        #expect(OneShotSHA256.usesSystemLibrary, "libcrypto.so.3 is on every machine with libcurl4-openssl-dev")
        var rng = SystemRandomNumberGenerator()
        for length in Array(0...200) + [1_000, 65_536, 1_000_003] {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var fast = [UInt8](repeating: 0, count: 32), reference = [UInt8](repeating: 1, count: 32)
            data.withUnsafeBytes { input in
                fast.withUnsafeMutableBytes { OneShotSHA256.hash(input, into: $0.baseAddress!) }
                reference.withUnsafeMutableBytes { OneShotSHA256.swiftCrypto(input, into: $0.baseAddress!) }
            }
            #expect(fast == reference, "length \(length)")
        }
        // The digest of "abc" (FIPS 180-2).
        var abc = [UInt8](repeating: 0, count: 32)
        Array("abc".utf8).withUnsafeBytes { input in abc.withUnsafeMutableBytes { OneShotSHA256.hash(input, into: $0.baseAddress!) } }
        #expect(abc.map { String(format: "%02x", $0) }.joined() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    static func changes(_ replica: String = "a1", from first: UInt64 = 1, count: Int = 5) -> [Change] {
        (0..<count).map { i in
            let n = first + UInt64(i)
            return Change(dot: Dot(replica: ReplicaID(replica), counter: n), hlc: HLC(wallMillis: 1_800_000_000_000 + n),
                          record: RecordRef(kind: "case", id: "YQ-\(i % 2)"), field: FieldKey("title"),
                          value: .text("标题 \(n)"), context: n > 2 ? [Dot(replica: ReplicaID(replica), counter: n - 2)] : [],
                          author: "zhang@township-a")
        }
    }

    @Test func aSealCoversExactlyTheChangesItsDeviceMade() throws {
        let key = SigningKey()
        let run = Self.changes()
        let seal = try Seal.make(run, key: key)
        #expect(seal.first == 1 && seal.last == 5)
        try seal.verify(run, key: key.publicKey)

        // Every field of a change is covered: altering any one of them breaks the seal.
        let alterations: [(String, (inout Change) -> Void)] = [
            ("value", { $0.value = .text("改过的标题") }),
            ("author", { $0.author = "li@township-b" }),
            ("hlc", { $0.hlc = HLC(wallMillis: 1) }),
            ("record", { $0.record.id = "YQ-9" }),
            ("field", { $0.field = FieldKey("summary") }),
            ("element", { $0.field.element = "x" }),
            ("context", { $0.context = [] }),
            ("removal", { $0.value = nil }),
        ]
        for (what, alter) in alterations {
            var tampered = run
            alter(&tampered[3])
            #expect(throws: SecurityError.self, "altered \(what)") { try seal.verify(tampered, key: key.publicKey) }
        }
        // Another device's key, a dropped change, a reordered run: refused.
        #expect(throws: SecurityError.self) { try seal.verify(run, key: SigningKey().publicKey) }
        #expect(throws: SecurityError.self) { try seal.verify(Array(run.dropLast()), key: key.publicKey) }
        #expect(throws: SecurityError.self) { try seal.verify(run.reversed(), key: key.publicKey) }
        var forged = seal
        forged.last = 4
        #expect(throws: SecurityError.self) { try forged.verify(Array(run.prefix(4)), key: key.publicKey) }
    }

    /// A reader holding any part of a run checks it with the hub's proof; a proof for another part,
    /// a leaf altered, a hash altered, dropped or added, each fails (200 random runs and parts).
    @Test func aPartOfARunChecksWithItsProofAndNothingElse() throws {
        var rng = SeededRandom(seed: 9)
        let key = SigningKey()
        for round in 0..<200 {
            let n = Int.random(in: 1...70, using: &rng)
            let run = Self.changes("r\(round % 3)", from: UInt64.random(in: 1...1000, using: &rng), count: n)
            let seal = try Seal.make(run, key: key)
            let present = Set((0..<n).filter { _ in Int.random(in: 0..<4, using: &rng) == 0 }).union([Int.random(in: 0..<n, using: &rng)])
            var buffer: [UInt8] = []
            let hashes = run.map { ChangeHash.hash($0, buffer: &buffer) }
            let proof = MerkleTree.proof(count: n, present: { present.contains($0) }, leaf: { hashes[$0] })
            var leaves: [UInt64: [UInt8]] = [:]
            for i in present { leaves[seal.first + UInt64(i)] = hashes[i] }
            try seal.verify(leaves: leaves, proof: proof, key: key.publicKey)
            // A proof needs about 2·log2(n) hashes per stretch the reader lacks, never more than n.
            #expect(proof.count <= n - present.count)
            var altered = leaves
            let i = present.first!
            var bad = hashes[i]
            bad[0] ^= 1
            altered[seal.first + UInt64(i)] = bad
            #expect(throws: SecurityError.self) { try seal.verify(leaves: altered, proof: proof, key: key.publicKey) }
            if !proof.isEmpty {
                var p = proof
                p[p.count - 1][5] ^= 0x80
                #expect(throws: SecurityError.self) { try seal.verify(leaves: leaves, proof: p, key: key.publicKey) }
                #expect(throws: SecurityError.self) { try seal.verify(leaves: leaves, proof: Array(proof.dropLast()), key: key.publicKey) }
            }
            #expect(throws: SecurityError.self) { try seal.verify(leaves: leaves, proof: proof + [hashes[0]], key: key.publicKey) }
            // The same leaves under another key fail.
            #expect(throws: SecurityError.self) { try seal.verify(leaves: leaves, proof: proof, key: SigningKey().publicKey) }
        }
    }

    @Test func runsSplitAtGapsAndOtherReplicas() {
        let mixed = Self.changes(from: 1, count: 3) + Self.changes(from: 7, count: 2) + Self.changes("b2", count: 2)
        let runs = Seal.runs(of: mixed.shuffled(), replica: ReplicaID("a1"))
        #expect(runs.map { $0.map(\.dot.counter) } == [[1, 2, 3], [7, 8]])
        #expect(throws: SecurityError.self) { try Seal.make(mixed, key: SigningKey()) }
    }

    @Test func aRequestSignatureBindsMethodTargetBodyAndTime() throws {
        let key = SigningKey()
        let body = Array("{\"changes\":[]}".utf8)
        let h = Dictionary(uniqueKeysWithValues: RequestSigning.headers(method: "POST", target: "/v1/push", body: body, signer: "a1", key: key, timeMillis: 42))
        let header = try #require(h[RequestSigning.signatureHeader])
        let signature = try #require(Data(base64Encoded: header))
        let nonce = try #require(h[RequestSigning.nonceHeader])
        func valid(_ method: String, _ target: String, _ body: [UInt8], _ time: Int64, _ signer: String = "a1") -> Bool {
            key.publicKey.verify(signature: signature, for: RequestSigning.message(method: method, target: target, signer: signer, timeMillis: time, nonce: nonce, body: body))
        }
        #expect(valid("POST", "/v1/push", body, 42))
        #expect(!valid("POST", "/v1/push", body + [0x20], 42))
        #expect(!valid("POST", "/v1/push?x=1", body, 42))
        #expect(!valid("GET", "/v1/push", body, 42))
        #expect(!valid("POST", "/v1/push", body, 43))
        #expect(!valid("POST", "/v1/push", body, 42, "b2"))
    }

    @Test func keyFilesArePrivateAndNeverOverwritten() throws {
        let dir = try TempDir()
        let path = dir.path("node.key")
        let key = try SigningKey.create(at: path)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(try SigningKey.load(from: path).publicKey == key.publicKey)
        #expect(throws: SecurityError.self) { try SigningKey.create(at: path) }
        chmod(path, 0o644)
        let error = try #require(throws: SecurityError.self) { try SigningKey.load(from: path) }
        #expect(error.message.contains("chmod 600"))
        #expect(throws: SecurityError.self) { try PublicKey(base64: "not a key") }
        #expect(try PublicKey(base64: key.publicKey.base64) == key.publicKey)
    }

    @Test func oneTimeCodesAreComparedWithoutDashesOrCase() {
        let code = OneTimeCode.make()
        #expect(code.count == 23)
        #expect(OneTimeCode.digest(code) == OneTimeCode.digest(code.lowercased().replacingOccurrences(of: "-", with: "")))
        #expect(OneTimeCode.digest(code) != OneTimeCode.digest(OneTimeCode.make()))
    }
}
