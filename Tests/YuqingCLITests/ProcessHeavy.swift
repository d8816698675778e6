import Testing

/// A suite trait: suites that carry it run one at a time, each holding the machine for its whole
/// run. The crash tests time a kill to land mid-sync, and nodes running in the background beside
/// them (on two cores) can let the sync finish first.
struct ProcessHeavy: SuiteTrait, TestScoping {
    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        await Self.lock.acquire()
        do {
            try await function()
        } catch {
            await Self.lock.release()
            throw error
        }
        await Self.lock.release()
    }

    static let lock = Turn()

    /// One holder at a time; the others wait in order.
    actor Turn {
        private var held = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        func acquire() async {
            guard held else {
                held = true
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        func release() {
            if waiting.isEmpty { held = false } else { waiting.removeFirst().resume() }
        }
    }
}

extension SuiteTrait where Self == ProcessHeavy {
    /// Runs the suite alone among the suites that carry this trait.
    static var processHeavy: Self { ProcessHeavy() }
}
