/// Random ids of new records and steps, as every writer makes them: `YQ-` and 10 Crockford
/// base-32 characters for cases (50 bits), 12 for steps, replies and filings.
public enum RecordIDs {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    public static func make(_ prefix: String) -> String {
        var rng = SystemRandomNumberGenerator()
        let n = prefix == "YQ-" ? 10 : 12
        return prefix + String((0..<n).map { _ in alphabet[Int(rng.next() as UInt64 % 32)] })
    }
}
