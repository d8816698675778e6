import Foundation
import Hummingbird
import Synchronization
import HummingbirdAuth
import Logging
import Mustache
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingOffice
import YuqingReplica

/// How the console is run.
public struct ConsoleConfiguration: Sendable {
    /// A unit none of whose devices reached the hub for this long is shown on the dashboard.
    public var staleAfter: Duration
    /// Cases per page of the case list.
    public var pageSize: Int
    /// Whether the hub serves HTTPS (the session cookie is then `Secure`).
    public var secureCookies: Bool
    /// How long a session lasts without use.
    public var sessionLifetime: Duration

    public init(staleAfter: Duration = .seconds(24 * 3600), pageSize: Int = 50, secureCookies: Bool = false,
                sessionLifetime: Duration = .seconds(8 * 3600)) {
        self.staleAfter = staleAfter
        self.pageSize = pageSize
        self.secureCookies = secureCookies
        self.sessionLifetime = sessionLifetime
    }
}

/// The web console the hub serves under `/console`: the office's, the leaders' and the
/// operator's desk (`README.md`, "The console"). Pages are rendered on the hub (Mustache), in
/// Simplified Chinese by default, and work without JavaScript; every form carries the session's
/// anti-forgery token; what a page offers follows the user's roles, and a unit's user sees only
/// what their unit may see.
public struct Console: Sendable {
    let hub: SQLiteHubStorage
    let accounts: ConsoleAccounts
    let configuration: ConsoleConfiguration
    let index: OfficeIndex
    let blobs: BlobStore?
    let logger: Logger
    let templates: MustacheLibrary
    let clock: @Sendable () -> Int64
    let orgCache = OrganisationCache()

    public init(hub: SQLiteHubStorage, accounts: ConsoleAccounts, configuration: ConsoleConfiguration = .init(),
                blobs: BlobStore? = nil, logger: Logger, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.hub = hub
        self.accounts = accounts
        self.configuration = configuration
        self.index = OfficeIndex(hub.replica)
        self.blobs = blobs
        self.logger = logger
        self.clock = clock
        self.templates = ConsoleTemplates.library()
    }

    var replica: Replica { hub.replica }

    /// Adds the console's routes to the hub's router.
    package func register(on router: Router<HubRequestContext>) {
        router.get("/") { _, _ in Response.redirect(to: "/console/", type: .found) }
        let group = router.group("console", context: ConsoleRequestContext.self)
        // The session is outermost, so what a page did to it (cleared it) is saved even when the
        // page ends in an error.
        group.add(middleware: SessionMiddleware(storage: MemoryPersistDriver(), configuration: .init(
            sessionCookieParameters: .init(name: "yq_session", path: "/console", secure: configuration.secureCookies, sameSite: .strict),
            keyPrefix: "console.", defaultSessionExpiration: configuration.sessionLifetime)))
        group.add(middleware: ConsolePageErrors(console: self))
        group.get("assets/console.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.stylesheet)))
        }
        group.get("lang") { request, _ in try self.switchLanguage(request) }
        group.get("sign-in") { request, context in try await self.signInPage(request, context) }
        group.post("sign-in") { request, context in try await self.signIn(request, context) }
        group.post("sign-out") { request, context in try await self.signOut(request, context) }
        group.get("") { request, context in
            _ = try await self.viewer(request, context)
            return Response.redirect(to: "/console/dashboard", type: .found)
        }
        group.get("dashboard") { request, context in try await self.dashboard(request, context) }
        registerCases(on: group)
        registerConflicts(on: group)
        registerStatistics(on: group)
        registerAdministration(on: group)
    }

    // MARK: Who is asking

    /// The signed-in user of a request, or a redirect to the sign-in page.
    func viewer(_ request: Request, _ context: ConsoleRequestContext) async throws -> Viewer {
        let lang = Self.language(request)
        guard let session = context.sessions.session else {
            // A form sent after the session ended: back to the page it came from, not to the form's address.
            if request.method == .get { throw SignInRequired(back: request.uri.description, expired: false) }
            let from = request.headers[.referer].flatMap { URLComponents(string: $0) }.map { $0.path + ($0.query.map { "?" + $0 } ?? "") }
            throw SignInRequired(back: from.flatMap { $0.hasPrefix("/console/") ? $0 : nil } ?? "/console/dashboard", expired: true)
        }
        let org = try await organisation()
        guard let user = org.users[session.user], !user.roles.isEmpty else {
            // Taken out of the organisation, or left without a role: the session ends for good.
            context.sessions.clearSession()
            throw ConsoleError(.forbidden, "user \(session.user) has no role in the organisation any more: ask the operator",
                               zh: "用户\(session.user)在组织中已无任何角色：请联系运维人员")
        }
        return Viewer(user: user, org: org, csrf: session.csrf, language: lang, now: clock())
    }

    /// The organisation as the hub holds it: read again only when the hub's log moved.
    func organisation() async throws -> Organisation {
        let cache = orgCache
        return try await replica.offload { r in
            let head = try r.head()
            if let (at, org) = cache.value.withLock({ $0 }), at == head { return org }
            let org = Organisation(try r.views(kinds: Organisation.kinds))
            cache.value.withLock { $0 = (head, org) }
            return org
        }
    }

    static func language(_ request: Request) -> Language {
        if let v = request.cookies["yq_lang"]?.value, let l = Language(name: v) { return l }
        return .zh
    }

    func switchLanguage(_ request: Request) throws -> Response {
        let to = request.uri.queryParameters.get("to").flatMap(Language.init(name:)) ?? .zh
        var back = request.uri.queryParameters.get("back") ?? "/console/"
        if !back.hasPrefix("/console/") || back.contains("//") { back = "/console/" }
        var response = Response.redirect(to: back, type: .normal)
        response.setCookie(Cookie(name: "yq_lang", value: to.rawValue, maxAge: 365 * 86_400, path: "/console",
                                  secure: configuration.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    // MARK: Forms

    /// Reads a form body (at most 1 MiB) and checks its anti-forgery token against `expected`.
    func form(_ request: Request, _ context: ConsoleRequestContext, csrf expected: String?) async throws -> Form {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: 1 << 20) } catch {
            throw ConsoleError(.input, "the form is larger than 1 MiB", zh: "表单内容超过1 MiB")
        }
        let form = Form(urlEncoded: String(buffer: buffer))
        guard let expected, let given = form["_csrf"], Self.constantTimeEqual(given, expected) else {
            throw ConsoleError(.csrf, "the form did not come from this console (its anti-forgery token is missing or out of date): reload the page and send it again",
                               zh: "该表单并非来自本控制台（缺少防伪令牌或令牌已过期）：请刷新页面后重新提交")
        }
        return form
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in x.indices { d |= x[i] ^ y[i] }
        return d == 0
    }

    static func token() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined()
    }

    // MARK: Rendering

    /// A whole page: `template` rendered with `data`, inside the layout.
    func page(_ viewer: Viewer?, language: Language, title: String, template: String, data: [String: Any],
              status: HTTPResponse.Status = .ok, path: String) -> Response {
        // An absent value is left out (Mustache would print an empty Optional as "nil").
        var data = data.compactMapValues(Self.present)
        data["t"] = ConsoleTemplates.words(language)
        data["csrf"] = viewer?.csrf ?? ""
        let body = templates.render(data, withTemplate: template) ?? ""
        var layout: [String: Any] = [
            "lang": language.htmlTag, "title": title, "body": body, "t": ConsoleTemplates.words(language),
            "other_lang": language == .zh ? "en" : "zh", "other_lang_name": language == .zh ? "English" : "中文",
            "back": path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_."))) ?? "/console/",
        ]
        if let viewer {
            layout["signed_in"] = true
            layout["user"] = viewer.user.name.isEmpty ? viewer.user.id : viewer.user.name
            layout["unit"] = viewer.org.units[viewer.user.unit]?.name ?? viewer.user.unit
            layout["roles"] = viewer.user.roles.sorted().map { language == .zh ? $0.chinese : $0.rawValue }.joined(separator: ", ")
            layout["csrf"] = viewer.csrf
            layout["nav"] = viewer.navigation(active: path)
        }
        let html = templates.render(layout, withTemplate: "layout") ?? ""
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                                                  .init("X-Frame-Options")!: "DENY", .init("Content-Security-Policy")!: "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// `value` itself, or nil when it is an Optional that holds nothing.
    static func present(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first.map(\.value)
    }

    static func seeOther(_ location: String) -> Response { Response.redirect(to: location, type: .normal) }
}

/// The organisation last read, with the log position it was read at.
final class OrganisationCache: Sendable {
    let value = Mutex<(Int64, Organisation)?>(nil)
}

/// The signed-in person, what they may do, and the page's language.
struct Viewer: Sendable {
    let user: Organisation.User
    let org: Organisation
    let csrf: String
    let language: Language
    let now: Int64

    var roles: Set<Role> { user.roles }
    var actor: Actor { Actor(user: user.id, unit: user.unit) }
    /// Office-level roles see every unit's cases; a unit's roles only what their unit may see.
    var seesAll: Bool { Role.isOfficeLevel(roles) }
    var isOperator: Bool { roles.contains(.operator) }
    /// Keywords are the office's (and the operator's).
    var editsKeywords: Bool { roles.contains(.office) || roles.contains(.operator) }
    var offset: Int64 { org.settings.utcOffsetMinutes }

    func time(_ millis: Int64?) -> String { millis.map(org.settings.calendar.show) ?? "-" }
    func unitName(_ id: String) -> String { org.units[id].map { $0.name.isEmpty ? id : $0.name } ?? id }

    func planner() -> Planner {
        Planner(actor: actor, roles: roles, org: org, now: now, newID: { prefix in RecordIDs.make(prefix) })
    }

    /// May the user take steps of `kind`?
    func may(_ kind: StepKind) -> Bool { (try? planner().role(for: kind)) != nil }

    /// Refuses what the user's roles do not allow.
    func require(_ allowed: Bool, _ what: String, zh: String) throws {
        guard allowed else {
            throw ConsoleError(.forbidden, "\(what) is not for your roles (\(roles.map(\.rawValue).sorted().joined(separator: ", ")))",
                               zh: "\(zh)不在您的角色权限之内（\(roles.sorted().map(\.chinese).joined(separator: "、"))）")
        }
    }

    /// May the user see the case `file`?
    func sees(_ file: CaseFile) -> Bool { seesAll || file.concerns(user.unit) }

    func navigation(active: String) -> [[String: Any]] {
        let l = language
        var items: [(String, String)] = [("/console/dashboard", l.t("Dashboard", "工作台")), ("/console/cases", l.t("Cases", "案件"))]
        if isOperator { items.append(("/console/conflicts", l.t("Conflicts", "冲突"))) }
        items.append(("/console/statistics", l.t("Statistics", "统计")))
        if isOperator { items.append(("/console/devices", l.t("Devices", "设备"))) }
        if isOperator || editsKeywords { items.append(("/console/organisation", l.t("Organisation", "组织与设置"))) }
        return items.map { ["href": $0.0, "label": $0.1, "active": active.hasPrefix($0.0)] }
    }
}

/// Thrown where a page needs a signed-in user and there is none.
struct SignInRequired: Error {
    let back: String
    /// A form was sent with no session (it had ended).
    let expired: Bool
}

/// A form body, `application/x-www-form-urlencoded`.
struct Form: Sendable {
    var values: [(String, String)]

    init(urlEncoded text: String) {
        values = text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The first value of `name`, trimmed; nil when absent or empty.
    subscript(_ name: String) -> String? {
        guard let v = values.first(where: { $0.0 == name })?.1.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }

    /// Every value of `name` (checkboxes, multiple selects).
    func all(_ name: String) -> [String] { values.filter { $0.0 == name }.map(\.1).filter { !$0.isEmpty } }

    /// The values as typed, to put back into a form that is shown again.
    var typed: [String: String] {
        var out: [String: String] = [:]
        for (k, v) in values where k != "_csrf" && out[k] == nil { out[k] = v }
        return out
    }
}

/// Errors of a page become a page: sign-in for a missing session, otherwise the message in the
/// user's language with its status.
struct ConsolePageErrors: RouterMiddleware {
    let console: Console

    func handle(_ request: Request, context: ConsoleRequestContext, next: (Request, ConsoleRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as SignInRequired {
            let back = e.back.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_."))) ?? ""
            return Console.seeOther("/console/sign-in?back=\(back)\(e.expired ? "&expired=1" : "")")
        } catch {
            let lang = Console.language(request)
            let e: ConsoleError
            var status: HTTPResponse.Status? = nil
            switch error {
            case let c as ConsoleError: e = c
            case let w as WorkflowError: e = ConsoleError(.input, w.message, zh: w.chinese)
            case let h as HTTPError where h.status == .notFound:
                e = ConsoleError(.notFound, "there is no such page", zh: "没有这个页面")
            case let h as HTTPError where h.status.code < 500:
                e = ConsoleError(.input, "the request was refused (\(h.status.code)): \(h.body ?? "\(h.status)")", zh: "请求被拒绝（\(h.status.code)）：\(h.body ?? "\(h.status)")")
                status = h.status
            case let b as any BilingualError: e = ConsoleError(.storage, b.message, zh: b.chinese)
            default: e = ConsoleError(.storage, "the console could not answer: \(error)", zh: "控制台无法响应：\(error)", cause: error)
            }
            if e.status.code >= 500 { context.logger.error("console page failed", metadata: ["console.error": "\(error)"]) }
            let viewer = try? await console.viewer(request, context)
            return console.page(viewer, language: lang, title: lang.t("Error", "出错了"), template: "error",
                                data: ["message": lang == .zh ? e.chinese : e.message, "status": Int((status ?? e.status).code)],
                                status: status ?? e.status, path: request.uri.path)
        }
    }
}
