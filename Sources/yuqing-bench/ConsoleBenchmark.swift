import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import YuqingCases
import YuqingConsole
import YuqingCore
import YuqingHub
import YuqingOffice
import YuqingReplica
import YuqingTestSupport

/// 13. The console at a hub holding a year of history (the workload of section 12: 100,000 cases
/// of 120 units, each unit's own, distinct Chinese text): the case list (first and later pages,
/// every filter, searches of one to four characters, a unit's user's list) and the case page of
/// random cases, each a real HTTP request to the hub on loopback, signed in, rendered in full.
struct ConsoleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console", abstract: "The console at a hub with a year of history: case list and case page latency (target p99 ≤ 100 ms).")

    @Option(help: "Cases over the year.") var cases = 100_000
    @Option(help: "Units (each registers its own cases).") var units = 120
    @Option(help: "Requests timed of each kind.") var requests = 1000
    @Option(help: "Keep the hub in this file and use it again when it exists (to rerun without filling it again).")
    var hub: String?

    func run() async throws { print(try await measure()) }

    func measure() async throws -> String {
        let dir = try Scratch("console")
        let path = hub ?? dir.file("hub.sqlite")
        let reused = hub.map { FileManager.default.fileExists(atPath: $0) } ?? false
        let storage = try SQLiteHubStorage(path: path, schema: CaseSchema.schema)
        let started = Date()
        let total = reused ? Int(try storage.replica.head()) : try await OfficeBench.fill(storage, cases: cases, units: units)
        note("console: hub \(reused ? "reused" : "filled") with \(total) changes in \(String(format: "%.0f", Date().timeIntervalSince(started))) s")
        // The office's director, and a unit's monitor, with console passwords.
        var org = try OrganisationWrites.user("director", name: "主任", unit: "office", roles: [.office, .operator])
        org += try OrganisationWrites.user("monitor0", name: "监测员", unit: WorkflowWorkload.unit(0), roles: [.monitor])
        try storage.replica.write(org.map { Replica.Write($0.record, $0.field, $0.value) }, author: "operator@hub")
        let accounts = try ConsoleAccounts(path: path + ".console")
        let password = "bench-password-2026"
        try await accounts.setPassword(user: "director", password: password, now: 0)
        try await accounts.setPassword(user: "monitor0", password: password, now: 0)
        let now = OfficeBench.yearStart + 366 * OfficeBench.day
        let console = Console(hub: storage, accounts: accounts, logger: Logger(label: "bench.console"), clock: { now })
        let index = OfficeIndex(storage.replica)
        let t0 = Date()
        let built = try index.refresh()
        note("console: office index built from \(built.records) records in \(String(format: "%.0f", Date().timeIntervalSince(t0))) s (once)")
        let sample = try index.caseList({ var q = CaseListQuery(); q.limit = 1000; q.offset = 0; return q }(), now: now).rows.map(\.summary.id)
            + (try index.caseList({ var q = CaseListQuery(); q.limit = 1000; q.offset = cases / 2; return q }(), now: now).rows.map(\.summary.id))

        let port = freePort()
        let app = buildHubApplication(configuration: HubConfiguration(port: port), storage: storage, logger: Logger(label: "bench.hub"),
                                      routes: { router in console.register(on: router) })
        let server = Task { try await app.runService() }
        defer { server.cancel() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            let result = try await time(client, port: port, sample: sample, total: total)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func time(_ client: HTTPClient, port: Int, sample: [String], total: Int) async throws -> String {
        let password = "bench-password-2026"
        let base = "http://127.0.0.1:\(port)/console"
        try await waitForServer(client, base)

        var rng = SeededRandom(seed: 13)
        let words = WorkflowWorkload.places + WorkflowWorkload.subjects + WorkflowWorkload.issues + OfficeWorkload.findings
        func term(_ length: Int) -> String {
            let w = Array(words[Int(rng.next() % UInt64(words.count))])
            let start = Int(rng.next() % UInt64(max(1, w.count - length + 1)))
            return String(w[start..<min(w.count, start + length)])
        }
        let director = try await signIn(client, base, "director", password)
        let monitor = try await signIn(client, base, "monitor0", password)
        var list: [Double] = [], byKind: [String: [Double]] = [:], page: [Double] = []
        for i in 0..<requests {
            let (kind, query): (String, String) = switch i % 10 {
            case 0: ("first page", "")
            case 1: ("a later page", "?page=\(1 + Int(rng.next() % 1000))")
            case 2: ("level filter", "?level=\(["I", "II", "III", "IV"][i % 4])&page=\(1 + Int(rng.next() % 20))")
            case 3: ("status filter", "?status=\(CaseStatus.allCases[i % CaseStatus.allCases.count].rawValue)")
            case 4: ("unit filter", "?unit=\(WorkflowWorkload.unit(Int(rng.next() % UInt64(units))))")
            case 5: ("overdue", "?overdue=1")
            case 6: ("search, 1 character", "?q=\(enc(term(1)))")
            case 7: ("search, 2 characters", "?q=\(enc(term(2)))")
            case 8: ("search, 3-4 characters, filtered", "?q=\(enc(term(3 + i % 2)))&level=\(["III", "IV"][i % 2])")
            default: ("a unit's user's list", "")
            }
            let t = try await timedGet(client, base + "/cases" + query, kind == "a unit's user's list" ? monitor : director)
            list.append(t)
            byKind[kind, default: []].append(t)
        }
        for _ in 0..<requests {
            let id = sample[Int(rng.next() % UInt64(sample.count))]
            page.append(try await timedGet(client, base + "/cases/" + id, director))
        }
        func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
        func line(_ name: String, _ t: [Double]) -> String {
            "| \(name) | \(t.count) | \(ms(percentile(t, 0.5))) | \(ms(percentile(t, 0.99))) | \(ms(t.max()!)) |"
        }
        var rows = [
            "## 13. The console at a hub with a year of history (\(cases) cases of \(units) units, \(total) changes)",
            "",
            "Each request a real HTTP GET on loopback, signed in, the whole page rendered. Target: p99 ≤ 100 ms.",
            "",
            "| page | requests | p50 | p99 | max |",
            "|---|---|---|---|---|",
            line("**case list, all kinds**", list),
        ]
        for k in byKind.keys.sorted() { rows.append(line("case list: \(k)", byKind[k]!)) }
        rows.append(line("**case page** (random cases)", page))
        return rows.joined(separator: "\n") + "\n"
    }

    func enc(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }

    func waitForServer(_ client: HTTPClient, _ base: String) async throws {
        for _ in 0..<100 {
            if (try? await client.execute(HTTPClientRequest(url: base + "/sign-in"), timeout: .seconds(2))) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("the hub did not start")
    }

    /// Signs in; returns the Cookie header of the session.
    func signIn(_ client: HTTPClient, _ base: String, _ user: String, _ password: String) async throws -> String {
        let form = try await client.execute(HTTPClientRequest(url: base + "/sign-in"), timeout: .seconds(10))
        let html = String(buffer: try await form.body.collect(upTo: 1 << 20))
        let token = html.components(separatedBy: "name=\"_csrf\" value=\"")[1].prefix { $0 != "\"" }
        let signinCookie = form.headers["set-cookie"].map { String($0.split(separator: ";")[0]) }.joined(separator: "; ")
        var request = HTTPClientRequest(url: base + "/sign-in")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Cookie", value: signinCookie)
        request.body = .bytes(ByteBuffer(string: "_csrf=\(token)&user=\(user)&password=\(password)"))
        let answer = try await client.execute(request, timeout: .seconds(10))
        guard answer.status == .seeOther, let cookie = answer.headers["set-cookie"].first(where: { $0.hasPrefix("yq_session=") }) else {
            throw BenchError("signing in as \(user) failed: \(answer.status)")
        }
        return String(cookie.split(separator: ";")[0])
    }

    func timedGet(_ client: HTTPClient, _ url: String, _ cookie: String) async throws -> Double {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Cookie", value: cookie)
        let start = ContinuousClock.now
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        let d = ContinuousClock.now - start
        guard response.status == .ok, body.readableBytes > 1000 else { throw BenchError("GET \(url): \(response.status)") }
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
