extension SyncError {
    /// Whether trying the same request again later may succeed: the hub was unreachable, timed out,
    /// answered garbage (a proxy, a restart) or failed on its side (`storage`, `internal`).
    ///
    /// Not so for a URL that leads to another hub, a replica restored from a backup, or a request
    /// the hub refuses for what it is (`dot_reused`, `bad_request`, `too_large`, `not_found`):
    /// these wait for a person, and a node running in the background stops with the message.
    public var healsByRetrying: Bool {
        switch code {
        case .hubUnreachable, .badResponse: true
        case .hubRejected: ["storage", "internal", "timeout"].contains(problem?.code ?? "")
        case .notEnrolled: ["stale_request", "replayed"].contains(problem?.code ?? "")
        case .invalidURL, .wrongHub, .replicaBehindHub, .dotCollision, .tampered, .tlsUntrusted, .revoked: false
        }
    }
}
