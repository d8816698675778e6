import Foundation
import Hummingbird
import Synchronization
import Testing
import YuqingCases
import YuqingConsole
import YuqingCore
import YuqingHub
import YuqingReplica

@Suite("Console: sign-in, sessions and forgery")
struct ConsoleSignInTests {
    @Test func pagesNeedASessionAndAreChineseByDefault() async throws {
        let hub = try await ConsoleHarness()
        try await hub.run { b in
            let page = try await b.get("/console/cases")
            #expect(page.status == .seeOther)
            #expect(page.location?.hasPrefix("/console/sign-in") == true)
            let form = try await b.get("/console/sign-in")
            #expect(form.html.contains(#"<html lang="zh-Hans">"#))
            #expect(form.html.contains("登录"))
            let signedIn = try await b.signIn("wang")
            #expect(signedIn.status == .seeOther && signedIn.location == "/console/dashboard")
            let dashboard = try await b.get("/console/dashboard")
            #expect(dashboard.status == .ok)
            #expect(dashboard.html.contains("工作台"))
            // English on request, kept in a cookie.
            _ = try await b.get("/console/lang?to=en&back=/console/dashboard")
            let english = try await b.get("/console/dashboard")
            #expect(english.html.contains(#"<html lang="en">"#) && english.html.contains("Dashboard"))
            // Every asset is the hub's own: no page names another host.
            #expect(!english.html.contains("src=\"http") && !english.html.contains("href=\"http"))
            let css = try await b.get("/console/assets/console.css")
            #expect(css.status == .ok && css.contentType?.hasPrefix("text/css") == true)
        }
    }

    @Test func fiveFailuresLockTheAccountForFifteenMinutes() async throws {
        let hub = try await ConsoleHarness()
        try await hub.run { b in
            for i in 1...4 {
                let refused = try await b.signIn("wang", password: "wrong-password-\(i)")
                #expect(refused.status == .unauthorized)
                #expect(refused.html.contains("用户名或密码错误") && !refused.html.contains("再失败"), "the answer does not count down")
                #expect(refused.html.contains(#"value="wang""#), "the user name typed is kept")
            }
            let fifth = try await b.signIn("wang", password: "wrong-password-5")
            #expect(fifth.status == .tooManyRequests)
            // Locked: even the right password is not checked.
            let locked = try await b.signIn("wang")
            #expect(locked.status == .tooManyRequests)
            #expect(locked.html.contains("已锁定至"))
            hub.advance(minutes: 16)
            let after = try await b.signIn("wang")
            #expect(after.status == .seeOther)
        }
    }

    @Test func anUnknownUserIsRefusedLikeAWrongPassword() async throws {
        let hub = try await ConsoleHarness()
        try await hub.run { b in
            let unknown = try await b.signIn("nobody")
            let known = try await b.signIn("wang", password: "wrong-password-1")
            #expect(unknown.status == .unauthorized && known.status == .unauthorized)
            func message(_ p: Browser.Page) -> String? { Browser.Page.first(#"id="sign-in-error">([^<]*)<"#, in: p.html) }
            #expect(message(unknown) != nil && message(unknown) == message(known), "the same answer: nothing tells which users exist")
        }
    }

    /// Guesses sent at once each take a turn: no more than five are checked before the lock.
    @Test func guessesAtOnceDoNotGetPastTheLock() async throws {
        let hub = try await ConsoleHarness()
        let outcomes = try await withThrowingTaskGroup(of: ConsoleAccounts.SignIn.self) { group in
            for i in 0..<20 { group.addTask { try await hub.accounts.signIn(user: "wang", password: "guess-\(i)-wrong", now: hub.now) } }
            return try await group.reduce(into: [ConsoleAccounts.SignIn]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == .refused }.count <= 4)
        #expect(try await hub.accounts.signIn(user: "wang", password: ConsoleHarness.password, now: hub.now) != .accepted)
    }

    /// A user left without a role loses their session for good.
    @Test func aSessionEndsWhenItsUserLosesEveryRole() async throws {
        let hub = try await ConsoleHarness()
        try await hub.run { b in
            try await b.signIn("zhou")
            #expect(try await b.get("/console/dashboard").status == .ok)
            let revoke = OrganisationWrites.revokeRole("zhou", .leader)
            _ = try hub.storage.replica.write(revoke.map { Replica.Write($0.record, $0.field, $0.value) }, author: "operator@hub")
            #expect(try await b.get("/console/dashboard").status == .forbidden)
            let grant = try OrganisationWrites.user("zhou", name: "zhou", unit: "county-office", roles: [.leader])
            _ = try hub.storage.replica.write(grant.map { Replica.Write($0.record, $0.field, $0.value) }, author: "operator@hub")
            let after = try await b.get("/console/dashboard")
            #expect(after.status == .seeOther && after.location?.hasPrefix("/console/sign-in") == true, "the old session does not come back")
        }
    }

    @Test func anOverLargePageOrYearIsRefusedWithoutHarm() async throws {
        let hub = try await ConsoleHarness()
        try await hub.run { b in
            try await b.signIn("wang")
            #expect(try await b.get("/console/cases?page=9223372036854775807").status == .ok)
            #expect(try await b.get("/console/statistics?month=9999-12").status == .unprocessableContent)
            #expect(try await b.get("/console/statistics?quarter=9999Q4").status == .unprocessableContent)
            #expect(try await b.get("/console/statistics.csv?month=2026-09").status == .ok)
        }
    }

    @Test func everyFormNeedsItsSessionsToken() async throws {
        let hub = try await ConsoleHarness()
        let id = try hub.register("li", title: "网帖：城关镇卫生院收费")
        try await hub.run { b in
            // The sign-in form without its cookie's token.
            let forged = try await b.post("/console/sign-in", [("user", "wang"), ("password", ConsoleHarness.password)])
            #expect(forged.status == .forbidden)
            try await b.signIn("wang")
            let page = try await b.get("/console/cases/\(id)")
            let token = try #require(page.csrf)
            for fields in [[("opinion", "属实")], [("_csrf", "0123abcd"), ("opinion", "属实")], [("_csrf", token + "0"), ("opinion", "属实")]] {
                let refused = try await b.post("/console/cases/\(id)/steps/assess", fields)
                #expect(refused.status == .forbidden)
                #expect(refused.html.contains("防伪令牌"))
            }
            #expect(try hub.file(id).state.status == .registered, "nothing was written")
            // Another session's token does not pass either.
            let other = try await ConsoleHarness.otherSessionToken(hub)
            let cross = try await b.post("/console/cases/\(id)/steps/assess", [("_csrf", other), ("opinion", "属实")])
            #expect(cross.status == .forbidden)
            let accepted = try await b.post("/console/cases/\(id)/steps/assess", [("_csrf", token), ("opinion", "属实")])
            #expect(accepted.status == .seeOther)
            #expect(try hub.file(id).state.status == .assessed)
            // Signing out ends the session: its pages and its token are gone.
            _ = try await b.post("/console/sign-out", [("_csrf", token)])
            #expect(try await b.get("/console/dashboard").status == .seeOther)
        }
    }
}

extension ConsoleHarness {
    /// The token of a second browser's session.
    static func otherSessionToken(_ hub: ConsoleHarness) async throws -> String {
        let box = Mutex<String>("")
        try await hub.run { b in
            try await b.signIn("zhou")
            let token = try await b.get("/console/dashboard").csrf ?? ""
            box.withLock { $0 = token }
        }
        return box.withLock { $0 }
    }
}

@Suite("Console: who sees and does what")
struct ConsoleAuthorisationTests {
    @Test func aUnitsUserSeesNothingOfAnotherUnit() async throws {
        let hub = try await ConsoleHarness()
        let a = try hub.register("li", title: "网帖：城关镇卫生院重复收费")
        let b = try hub.register("sun", title: "微博：河西镇道路积水")
        // The office assigns town-b's case with town-a as a co-unit, and urges town-a: the
        // statistics of town-b's user must still hold only town-b's own figures.
        try hub.act("wang", .assess(category: .inquiry, level: "IV", opinion: "核实"), on: b)
        try hub.act("wang", .assign(lead: "town-b", coUnits: ["town-a"], deadline: hub.now + 86_400_000, instruction: nil), on: b)
        try hub.act("wang", .urge(unit: "town-a", note: nil), on: b)
        try await hub.run { browser in
            try await browser.signIn("sun")
            let list = try await browser.get("/console/cases")
            #expect(list.html.contains(b) && !list.html.contains(a))
            // Asking for town-a's cases by the filter changes nothing.
            let filtered = try await browser.get("/console/cases?unit=town-a")
            #expect(!filtered.html.contains(a))
            let searched = try await browser.get("/console/cases?q=" + Browser.encode("重复收费"))
            #expect(searched.status == .ok && !searched.html.contains(a) && !searched.html.contains("城关镇卫生院"))
            let own = try await browser.get("/console/cases?q=" + Browser.encode("积水"))
            #expect(own.status == .ok && own.html.contains(b), "a unit's user finds the unit's own case")
            let page = try await browser.get("/console/cases/\(a)")
            #expect(page.status == .notFound)
            #expect(!page.html.contains("城关镇卫生院"))
            #expect(try await browser.get("/console/cases/\(a)/evidence/" + String(repeating: "0", count: 64)).status == .notFound)
            for path in ["/console/conflicts", "/console/devices", "/console/organisation"] {
                #expect(try await browser.get(path).status == .forbidden, "\(path)")
            }
            let stats = try await browser.get("/console/statistics")
            #expect(stats.status == .ok && !stats.html.contains("城关镇") && !stats.html.contains("县委网信办"))
            let csv = try await browser.get("/console/statistics.csv")
            #expect(!csv.html.contains("城关镇") && !csv.html.contains("县委网信办"))
            let dashboard = try await browser.get("/console/dashboard")
            #expect(!dashboard.html.contains(a))
            // A step on the other unit's case is refused as not found, and nothing is written.
            let token = try #require(dashboard.csrf)
            let step = try await browser.post("/console/cases/\(a)/steps/assess", [("_csrf", token), ("opinion", "x")])
            #expect(step.status == .notFound)
            #expect(try hub.file(a).entries.count == 1)
        }
    }

    @Test func aPageOffersOnlyWhatTheRolesMayDo() async throws {
        let hub = try await ConsoleHarness()
        let id = try hub.register("li", title: "网帖：城关镇卫生院收费")
        try await hub.run { b in
            try await b.signIn("wang")  // office and operator
            let office = try await b.get("/console/cases/\(id)")
            for form in ["form-assess", "form-assign", "form-urge", "form-notice", "form-archive"] { #expect(office.html.contains(form), "\(form)") }
            #expect(office.html.contains(#"href="/console/conflicts""#) && office.html.contains(#"href="/console/devices""#))
        }
        try await hub.run { b in
            try await b.signIn("zhou")  // a leader
            let leader = try await b.get("/console/cases/\(id)")
            #expect(leader.html.contains("form-assess") && leader.html.contains("form-assign"))
            #expect(!leader.html.contains("form-urge") && !leader.html.contains("form-archive"))
            #expect(!leader.html.contains(#"href="/console/devices""#))
            #expect(try await b.get("/console/devices").status == .forbidden)
            // What the page does not offer, the server refuses too.
            let token = try #require(leader.csrf)
            let urge = try await b.post("/console/cases/\(id)/steps/archive", [("_csrf", token)])
            #expect(urge.status == .unprocessableContent)
            #expect(urge.html.contains("舆情工作办公室") || urge.html.contains("office"))
            #expect(try hub.file(id).state.status == .registered)
        }
        try await hub.run { b in
            try await b.signIn("zhao")  // a township's head: no step of the office's
            let head = try await b.get("/console/cases/\(id)")
            #expect(head.status == .ok && !head.html.contains("form-assess") && !head.html.contains("form-assign"))
        }
    }
}

@Suite("Console: forms and steps")
struct ConsoleFormTests {
    @Test func aRefusedFormSaysWhyNextToTheFieldAndKeepsWhatWasTyped() async throws {
        let hub = try await ConsoleHarness()
        let id = try hub.register("li", title: "网帖：城关镇卫生院收费")
        try hub.act("wang", .assess(category: .inquiry, level: "III", opinion: "属实"), on: id)
        try await hub.run { b in
            try await b.signIn("wang")
            let token = try #require(try await b.get("/console/cases/\(id)").csrf)
            let instruction = "请城关镇于明日前核实并答复，注意保存证据。"
            let bad = try await b.post("/console/cases/\(id)/steps/assign", [
                ("_csrf", token), ("lead", "town-a"), ("co", "town-b"), ("deadline", "明天"), ("instruction", instruction)])
            #expect(bad.status == .unprocessableContent)
            #expect(bad.html.contains(#"id="assign-deadline-error""#))
            #expect(bad.html.contains("请以日期和时间给出期限"))
            #expect(bad.html.contains(instruction), "the instruction typed is kept")
            #expect(bad.html.contains(#"value="明天""#), "the deadline typed is kept")
            #expect(bad.html.contains(#"value="town-b" checked"#), "the co-unit ticked is kept")
            #expect(try hub.file(id).leadUnit == nil, "nothing was written")
            let past = try await b.post("/console/cases/\(id)/steps/assign", [("_csrf", token), ("lead", "town-a"), ("deadline", "2020-01-01T10:00")])
            #expect(past.status == .unprocessableContent && past.html.contains("已过"))
            let unknown = try await b.post("/console/cases/\(id)/steps/assign", [("_csrf", token), ("lead", "town-z"), ("deadline", "2030-01-01T10:00")])
            #expect(unknown.status == .unprocessableContent && unknown.html.contains(#"id="assign-lead-error""#))
            // The workflow's own refusal (archiving a case not yet replied) is shown at the form.
            let early = try await b.post("/console/cases/\(id)/steps/archive", [("_csrf", token)])
            #expect(early.status == .unprocessableContent && early.html.contains(#"id="form-archive""#) && early.html.contains("未保存任何内容"))
            #expect(try hub.file(id).state.status == .assessed)
            let good = try await b.post("/console/cases/\(id)/steps/assign", [
                ("_csrf", token), ("lead", "town-a"), ("deadline", "2030-01-01T10:00"), ("instruction", instruction)])
            #expect(good.status == .seeOther)
            #expect(try hub.file(id).leadUnit == "town-a")
            #expect(try hub.file(id).entries.last?.step.by == "wang", "the step is the signed-in user's")
        }
    }

    @Test func theOfficeApprovesReturnsAndPublishesAReply() async throws {
        let hub = try await ConsoleHarness()
        let id = try hub.register("li", title: "网帖：城关镇卫生院收费")
        try hub.act("wang", .assess(category: .inquiry, level: "III", opinion: "属实"), on: id)
        try hub.act("wang", .assign(lead: "town-a", coUnits: [], deadline: hub.now + 86_400_000, instruction: nil), on: id)
        try hub.act("li", .draft(text: "经核实，收费符合规定。", revises: nil), on: id)
        let draft = try hub.file(id).state.replies[0].id
        try hub.act("zhao", .sign(draft: draft), on: id)
        try await hub.run { b in
            try await b.signIn("wang")
            let page = try await b.get("/console/cases/\(id)")
            #expect(page.html.contains("form-approve-\(draft)") && page.html.contains("form-return-\(draft)"))
            let token = try #require(page.csrf)
            let noReason = try await b.post("/console/cases/\(id)/steps/return", [("_csrf", token), ("draft", draft)])
            #expect(noReason.status == .unprocessableContent && noReason.html.contains(#"id="return-\#(draft)-reason-error""#))
            #expect(try await b.post("/console/cases/\(id)/steps/approve", [("_csrf", token), ("draft", draft), ("note", "同意")]).status == .seeOther)
            #expect(try hub.file(id).state.replies[0].stage == .approved)
            let badLink = try await b.post("/console/cases/\(id)/steps/publish", [("_csrf", token), ("draft", draft), ("link", "贴吧")])
            #expect(badLink.status == .unprocessableContent && badLink.html.contains("http"))
            #expect(try await b.post("/console/cases/\(id)/steps/publish", [("_csrf", token), ("draft", draft), ("link", "https://bbs.example/t/1")]).status == .seeOther)
            #expect(try hub.file(id).state.replies[0].stage == .published)
        }
    }

    @Test func theCaseListFiltersSearchesAndPages() async throws {
        let hub = try await ConsoleHarness(pageSize: 10)
        var made: [String] = []
        for i in 0..<25 {
            hub.advance(minutes: 1)
            made.append(try hub.register(i % 2 == 0 ? "li" : "sun", title: "网帖\(i)：" + (i % 5 == 0 ? "学校食堂" : "道路维修"), level: i % 3 == 0 ? "II" : "IV"))
        }
        let ids = made
        try await hub.run { b in
            try await b.signIn("wang")
            let first = try await b.get("/console/cases")
            #expect(first.html.contains("25") && first.html.contains(ids[24]) && !first.html.contains(ids[0] + "<"))
            #expect(first.html.contains(#"rel="next""#))
            let third = try await b.get("/console/cases?page=3")
            #expect(third.html.contains(">\(ids[0])<") && !third.html.contains(#"rel="next""#))
            let level = try await b.get("/console/cases?level=II")
            for (i, id) in ids.enumerated() where i >= 15 { #expect(level.html.contains(">\(id)<") == (i % 3 == 0), "\(i)") }
            let levelCount = ids.indices.filter { $0 % 3 == 0 }.count
            #expect(level.html.contains("<h1>件: \(levelCount)</h1>"))
            let search = try await b.get("/console/cases?q=" + Browser.encode("食堂"))
            #expect(search.html.contains("<h1>件: 5</h1>"))
            for i in stride(from: 0, to: 25, by: 5) { #expect(search.html.contains(">\(ids[i])<")) }
            let unit = try await b.get("/console/cases?unit=town-b&level=IV")
            let expected = ids.indices.filter { $0 % 2 == 1 && $0 % 3 != 0 }.count
            #expect(unit.html.contains("<h1>件: \(expected)</h1>"))
            let short = try await b.get("/console/cases?q=" + Browser.encode("食"))
            #expect(short.html.contains("<h1>件: 5</h1>"), "a one-character search")
        }
    }
}
