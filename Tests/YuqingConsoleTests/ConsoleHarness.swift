import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import YuqingCases
import YuqingConsole
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingTestSupport

/// A hub with its console, on a real SQLite file in a temporary directory, served in-process;
/// the organisation of two townships and the office, with console passwords; a clock the test
/// moves.
final class ConsoleHarness: Sendable {
    let dir: TempDir
    let storage: SQLiteHubStorage
    let accounts: ConsoleAccounts
    let console: Console
    let clock = TestClock()

    static let password = "a-long-enough-password"
    /// Users: the office's director (office, operator), a leader, and each township's monitor.
    static let users: [(id: String, unit: String, roles: [Role])] = [
        ("wang", "county-office", [.office, .operator]), ("zhou", "county-office", [.leader]),
        ("li", "town-a", [.monitor, .commentator]), ("sun", "town-b", [.monitor]), ("zhao", "town-a", [.unitHead]),
    ]

    init(pageSize: Int = 50) async throws {
        dir = try TempDir()
        storage = try SQLiteHubStorage(path: dir.path("hub.sqlite"), schema: CaseSchema.schema)
        accounts = try ConsoleAccounts(path: dir.path("hub.sqlite.console"), bcryptCost: 4)
        let box = clock
        console = Console(hub: storage, accounts: accounts, configuration: ConsoleConfiguration(pageSize: pageSize),
                          logger: Logger(label: "test.console"), clock: { box.now })
        var writes = try OrganisationWrites.unit("county-office", name: "县委网信办", parent: nil)
        writes += try OrganisationWrites.unit("town-a", name: "城关镇", parent: "county-office")
        writes += try OrganisationWrites.unit("town-b", name: "河西镇", parent: "county-office")
        for u in Self.users { writes += try OrganisationWrites.user(u.id, name: u.id, unit: u.unit, roles: u.roles) }
        _ = try storage.replica.write(writes.map { Replica.Write($0.record, $0.field, $0.value) }, author: "operator@hub")
        for u in Self.users { try await accounts.setPassword(user: u.id, password: Self.password, now: now) }
    }

    var now: Int64 { clock.now }
    func advance(minutes: Int64) { clock.time.withLock { $0 += minutes * 60_000 } }

    var org: Organisation { get throws { Organisation(try storage.replica.views(kinds: Organisation.kinds)) } }

    /// Takes `action` as `user` (their roles and unit) through the domain's planner, at the hub.
    @discardableResult
    func act(_ user: String, _ action: CaseAction, on id: String? = nil) throws -> String {
        let u = Self.users.first { $0.id == user }!
        let file = try id.flatMap { try storage.replica.view(CaseSchema.caseRef($0)) }.map(CaseFile.init)
        let planner = Planner(actor: Actor(user: u.id, unit: u.unit), roles: Set(u.roles), org: try org, now: now,
                              newID: { prefix in prefix + String(UInt64.random(in: 1...UInt64.max), radix: 36).uppercased() })
        let plan = try planner.plan(action, on: file)
        _ = try storage.replica.write(plan.writes.map { Replica.Write($0.record, $0.field, $0.value) }, author: "\(u.id)@\(u.unit)")
        return plan.caseID
    }

    func register(_ user: String, title: String, level: String = "III") throws -> String {
        var r = Registration(title: title)
        r.level = level
        r.category = .inquiry
        r.platform = .forum
        return try act(user, .register(r))
    }

    func file(_ id: String) throws -> CaseFile { CaseFile(try storage.replica.view(CaseSchema.caseRef(id))!) }

    /// Runs `body` with a browser against the hub's router, in-process.
    func run(_ body: @escaping @Sendable (Browser) async throws -> Void) async throws {
        let console = self.console
        let app = buildHubApplication(configuration: HubConfiguration(port: 0), storage: storage, logger: Logger(label: "test.hub"),
                                      routes: { router in console.register(on: router) })
        try await app.test(.router) { client in try await body(Browser(client: client)) }
    }
}

/// The time the console reads, moved by the test.
final class TestClock: Sendable {
    let time = Mutex<Int64>(1_790_000_000_000)  // 2026-09-21
    var now: Int64 { time.withLock { $0 } }
}

/// A person's browser: keeps cookies, reads the forms' anti-forgery tokens, does not follow
/// redirects (tests look at them).
final class Browser: Sendable {
    let client: any TestClientProtocol
    let cookies = Mutex<[String: String]>([:])

    init(client: any TestClientProtocol) { self.client = client }

    struct Page: Sendable {
        let status: HTTPResponse.Status
        let location: String?
        let html: String
        let contentType: String?

        /// The anti-forgery token of the page's forms.
        var csrf: String? { Page.first(#"name="_csrf" value="([0-9a-f]+)""#, in: html) }

        static func first(_ pattern: String, in text: String) -> String? {
            guard let r = try? NSRegularExpression(pattern: pattern),
                  let m = r.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                  let g = Range(m.range(at: 1), in: text) else { return nil }
            return String(text[g])
        }
    }

    func get(_ path: String) async throws -> Page { try await send(path, .get, body: nil) }

    func post(_ path: String, _ fields: [(String, String)]) async throws -> Page {
        let body = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await send(path, .post, body: body)
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    private func send(_ path: String, _ method: HTTPRequest.Method, body: String?) async throws -> Page {
        var headers = HTTPFields()
        let jar = cookies.withLock { $0 }
        if !jar.isEmpty { headers[.cookie] = jar.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        if body != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        return try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            for line in response.headers[values: .setCookie] {
                let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                let pair = parts[0].split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { continue }
                // Only the attributes say whether the cookie is cleared: a random value may hold
                // "1970" or "max-age=0" (a 64-digit hex token holds "1970" about once in 1,100).
                let attributes = parts.dropFirst().map { $0.lowercased() }
                let expired = attributes.contains { $0.hasPrefix("max-age=") && (Int($0.dropFirst(8)) ?? 1) <= 0 }
                    || attributes.contains { $0.hasPrefix("expires=") && $0.contains("1970") }
                self.cookies.withLock { if expired { $0[pair[0]] = nil } else { $0[pair[0]] = pair[1] } }
            }
            return Page(status: response.status, location: response.headers[.location], html: String(buffer: response.body),
                        contentType: response.headers[.contentType])
        }
    }

    /// Signs in as `user`; returns the answer to the form.
    @discardableResult
    func signIn(_ user: String, password: String = ConsoleHarness.password) async throws -> Page {
        let form = try await get("/console/sign-in")
        return try await post("/console/sign-in", [("_csrf", form.csrf ?? ""), ("user", user), ("password", password)])
    }
}
