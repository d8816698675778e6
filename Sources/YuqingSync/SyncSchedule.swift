/// When a node running in the background talks to its hub: a value that is told what happened
/// (a local write, news of the hub's log, a sync that worked or failed) and answers what to do.
///
/// Times are durations since the runner started, so the schedule needs no clock of its own and
/// tests drive it with plain numbers.
///
/// - While the hub answers, a local write is synced `debounce` after it was seen (writes within
///   that window go out together), news that the hub's log grew is pulled at once, and a routine
///   sync runs `interval` after the last one even with nothing to send.
/// - While it does not, nothing is synced; a cheap probe is tried on the ``Backoff`` schedule, and
///   once one is answered a sync runs at once.
package struct SyncSchedule: Sendable {
    /// Whether the hub answered the node's last request.
    package enum Connectivity: Sendable, Equatable {
        /// Nothing tried yet.
        case starting
        case connected
        case unreachable
    }

    /// What the runner should do now.
    package enum Action: Sendable, Equatable {
        case sync
        /// Ask the hub for its status, to find out whether it answers again.
        case probe
        /// Nothing is due yet: wait for news or for time to pass.
        case wait
    }

    package var debounce: Duration
    package var interval: Duration
    package private(set) var backoff: Backoff
    package private(set) var connectivity = Connectivity.starting
    /// When a sync is due for a write or for news of the hub (the first one at once).
    package private(set) var syncDue: Duration? = .zero
    /// When the routine sync is due.
    package private(set) var routineDue: Duration
    /// When the next probe of an unreachable hub is due.
    package private(set) var probeDue: Duration?

    package init(debounce: Duration, interval: Duration, backoff: Backoff) {
        self.debounce = debounce
        self.interval = interval
        self.backoff = backoff
        routineDue = interval
    }

    /// A local write was seen at `now`. While the hub is unreachable it waits for the next probe.
    package mutating func localWrite(at now: Duration) {
        guard connectivity != .unreachable else { return }
        syncDue = syncDue.map { min($0, now + debounce) } ?? now + debounce
    }

    /// The hub's log grew past what this node pulled (a long poll said so): pull at once.
    package mutating func hubAdvanced(at now: Duration) {
        guard connectivity != .unreachable else { return }
        syncDue = min(syncDue ?? now, now)
    }

    /// A sync finished at `now`. Returns true when this ends a time the hub was unreachable.
    package mutating func synced(at now: Duration) -> Bool {
        let wasUnreachable = connectivity == .unreachable
        connectivity = .connected
        backoff.reset()
        syncDue = nil
        probeDue = nil
        routineDue = now + interval
        return wasUnreachable
    }

    /// A probe was answered at `now`: sync at once (the hub counts as reachable once that worked).
    package mutating func probed(at now: Duration) {
        syncDue = now
    }

    /// A sync, probe or long poll failed at `now` in a way that trying again may heal. Returns the
    /// delay before the next probe, and whether the hub counted as reachable until now.
    package mutating func failed(at now: Duration, using generator: inout some RandomNumberGenerator)
        -> (delay: Duration, wasReachable: Bool)
    {
        let wasReachable = connectivity != .unreachable
        connectivity = .unreachable
        syncDue = nil
        let delay = backoff.next(using: &generator)
        probeDue = now + delay
        return (delay, wasReachable)
    }

    package func action(at now: Duration) -> Action {
        if let due = syncDue, due <= now { return .sync }
        if connectivity == .unreachable { return (probeDue ?? now) <= now ? .probe : .wait }
        return routineDue <= now ? .sync : .wait
    }
}
