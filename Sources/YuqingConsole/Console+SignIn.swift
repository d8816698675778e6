import Foundation
import Hummingbird
import YuqingCases

extension Console {
    /// The sign-in form. Its anti-forgery token is a cookie of its own (there is no session yet).
    func signInPage(_ request: Request, _ context: ConsoleRequestContext, user: String = "", message: String? = nil,
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        let lang = Self.language(request)
        if context.sessions.session != nil, message == nil { return Self.seeOther("/console/dashboard") }
        // One token per browser: a second sign-in tab does not invalidate the first.
        let token = request.cookies["yq_signin"]?.value.filter(\.isHexDigit).count == 64 ? request.cookies["yq_signin"]!.value : Self.token()
        let back = request.uri.queryParameters.get("back") ?? ""
        let expired = message == nil && request.uri.queryParameters.get("expired") == "1"
        let message = message ?? (expired ? lang.t("Your session had ended, so what you last sent was not saved: sign in again and send it again.",
                                                   "您的会话已结束，刚才提交的内容未保存：请重新登录后再次提交。") : nil)
        var response = page(nil, language: lang, title: lang.t("Sign in", "登录"), template: "sign-in",
                            data: ["csrf_signin": token, "user": user, "message": message as Any, "back": back],
                            status: status, path: "/console/sign-in")
        response.setCookie(Cookie(name: "yq_signin", value: token, path: "/console", secure: configuration.secureCookies,
                                  httpOnly: true, sameSite: .strict))
        return response
    }

    func signIn(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let lang = Self.language(request)
        let form = try await self.form(request, context, csrf: request.cookies["yq_signin"]?.value)
        let user = form["user"] ?? "", password = form.values.first { $0.0 == "password" }?.1 ?? ""
        guard !user.isEmpty, !password.isEmpty else {
            return try await signInPage(request, context, user: user, message: lang.t("Give your user name and password.", "请输入用户名和密码。"), status: .unprocessableContent)
        }
        let now = clock()
        switch try await accounts.signIn(user: user, password: password, now: now) {
        case .accepted:
            let org = try await organisation()
            guard org.users[user] != nil else {
                return try await signInPage(request, context, user: user, message: lang.t(
                    "\(user) has a password but is not in the organisation: ask the operator to add the user.",
                    "\(user)有密码，但不在组织中：请运维人员添加该用户。"), status: .forbidden)
            }
            context.sessions.createSession(ConsoleSession(user: user, csrf: Self.token()), expiresIn: configuration.sessionLifetime)
            logger.notice("console sign-in", metadata: ["console.user": "\(user)"])
            var back = form["back"] ?? "/console/dashboard"
            if !back.hasPrefix("/console/") || back.hasPrefix("/console/sign-") || back.contains("//") { back = "/console/dashboard" }
            return Self.seeOther(back)
        case .refused:
            logger.notice("console sign-in refused", metadata: ["console.user": "\(user)"])
            return try await signInPage(request, context, user: user, message: lang.t(
                "Wrong user name or password. After \(ConsoleAccounts.maxFailures) failed attempts in a row an account is locked for \(Self.lockMinutes) minutes.",
                "用户名或密码错误。连续失败\(ConsoleAccounts.maxFailures)次后，账户将被锁定\(Self.lockMinutes)分钟。"), status: .unauthorized)
        case .locked(let until):
            logger.notice("console sign-in while locked", metadata: ["console.user": "\(user)"])
            let at = ((try? await organisation()) ?? Organisation()).settings.calendar.show(until)
            return try await signInPage(request, context, user: user, message: lang.t(
                "Too many failed attempts: this account is locked until \(at). Try again then, or ask the operator to set a new password (`yuqing hub console-user`).",
                "失败次数过多：该账户已锁定至\(at)。请届时再试，或请运维人员重设密码（`yuqing hub console-user`）。"), status: .tooManyRequests)
        }
    }

    static var lockMinutes: Int64 { ConsoleAccounts.lockFor / 60_000 }

    func signOut(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let viewer = try await self.viewer(request, context)
        _ = try await form(request, context, csrf: viewer.csrf)
        context.sessions.clearSession()
        return Self.seeOther("/console/sign-in")
    }
}
