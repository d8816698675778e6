import Foundation
import Synchronization
import Testing
@testable import YuqingSync

/// ``untilCancelled(_:)``: the caller stops waiting when it is cancelled, the work is never
/// cancelled (a URLSession request must not be: FoundationNetworking deadlocks on Linux).
@Suite struct UntilCancelledTests {
    @Test func itReturnsWhatTheWorkReturnsOrThrows() async throws {
        #expect(try await untilCancelled { 42 } == 42)
        struct Failed: Error {}
        await #expect(throws: Failed.self) { try await untilCancelled { () async throws -> Int in throw Failed() } }
    }

    @Test func aCancelledCallerStopsAtOnceAndTheWorkRunsOnUncancelled() async throws {
        let workEnded = Mutex<Bool?>(nil)  // whether the work saw a cancellation, once it ended
        let caller = Task {
            try await untilCancelled { () async throws -> Int in
                try? await Task.sleep(for: .milliseconds(600))
                workEnded.withLock { $0 = Task.isCancelled }
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let clock = ContinuousClock(), started = clock.now
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(clock.now - started < .milliseconds(400), "the caller waited for the work")
        #expect(workEnded.withLock { $0 } == nil, "the work is still running")
        try await Task.sleep(for: .milliseconds(900))
        #expect(workEnded.withLock { $0 } == false, "the work ran to its end, never cancelled")
    }

    @Test func aCallerCancelledBeforeItWaitsDoesNotWait() async throws {
        let caller = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await untilCancelled { () async throws -> Int in
                try? await Task.sleep(for: .seconds(5))
                return 1
            }
        }
        let clock = ContinuousClock(), started = clock.now
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(clock.now - started < .seconds(2))
    }
}
