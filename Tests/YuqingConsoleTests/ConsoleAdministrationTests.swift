import Foundation
import Hummingbird
import Testing
import YuqingCases
import YuqingConsole
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingSecurity
import YuqingTestSupport

@Suite("Console: devices, the organisation, hostile forms")
struct ConsoleAdministrationTests {
    @Test func theOperatorEnrolsAndRevokesDevices() async throws {
        let hub = try await ConsoleHarness()
        let device = "0123456789abcdef"
        let enrolment = Device.enrolment(id: device, publicKey: SigningKey().publicKey.base64, unit: "town-a", user: "li", at: hub.now)
        _ = try hub.storage.replica.write(enrolment.map { Replica.Write($0.record, $0.field, $0.value) }, author: "operator@hub")
        try await hub.run { b in
            try await b.signIn("wang")
            let page = try await b.get("/console/devices")
            #expect(page.html.contains(device))
            let token = try #require(page.csrf)
            // A new user without roles: refused next to the roles, what was typed kept.
            let refused = try await b.post("/console/devices/enrol", [("_csrf", token), ("unit", "town-b"), ("user", "qian"), ("name", "钱七"), ("hours", "48")])
            #expect(refused.status == .unprocessableContent)
            #expect(refused.html.contains(#"id="enrol-role-error""#) && refused.html.contains(#"value="钱七""#) && refused.html.contains(#"value="48""#))
            let bad = try await b.post("/console/devices/enrol", [("_csrf", token), ("unit", "town-b"), ("user", "qian"), ("hours", "9999")])
            #expect(bad.status == .unprocessableContent && bad.html.contains(#"id="enrol-hours-error""#))
            let made = try await b.post("/console/devices/enrol", [("_csrf", token), ("unit", "town-b"), ("user", "qian"), ("role", "monitor"), ("hours", "48")])
            #expect(made.status == .ok)
            let code = try #require(Browser.Page.first(#"id="enrolment-code">([A-Z0-9-]+)<"#, in: made.html))
            #expect(try hub.storage.replica.attribute(HubSecurity.enrolmentKey(code)) != nil, "the code's digest is kept at the hub")
            #expect(try hub.org.users["qian"]?.roles == [.monitor])
            let revoked = try await b.post("/console/devices/\(device)/revoke", [("_csrf", token)])
            #expect(revoked.status == .seeOther)
            #expect(Device(try hub.storage.replica.view(Device.ref(device))!)?.isRevoked == true)
            #expect(try await b.post("/console/devices/nosuchdevice/revoke", [("_csrf", token)]).status == .notFound)
        }
        try await hub.run { b in
            try await b.signIn("zhou")  // a leader: no devices
            let token = try #require(try await b.get("/console/dashboard").csrf)
            #expect(try await b.post("/console/devices/enrol", [("_csrf", token), ("unit", "town-b"), ("user", "x"), ("role", "monitor"), ("hours", "1")]).status == .forbidden)
        }
    }

    @Test func organisationFormsCheckWhatIsTyped() async throws {
        let hub = try await ConsoleHarness()
        try await hub.run { b in
            try await b.signIn("wang")
            let token = try #require(try await b.get("/console/organisation").csrf)
            let noName = try await b.post("/console/organisation/unit", [("_csrf", token), ("id", "town-c")])
            #expect(noName.status == .unprocessableContent && noName.html.contains(#"id="unit-name-error""#) && noName.html.contains(#"value="town-c""#))
            #expect(try await b.post("/console/organisation/unit", [("_csrf", token), ("id", "town-c"), ("name", "东城镇"), ("parent", "county-office")]).status == .seeOther)
            #expect(try hub.org.units["town-c"]?.parent == "county-office")
            let badID = try await b.post("/console/organisation/user", [("_csrf", token), ("id", "a/b"), ("unit", "town-c"), ("role", "monitor")])
            #expect(badID.status == .unprocessableContent)
            #expect(try await b.post("/console/organisation/user", [("_csrf", token), ("id", "qian"), ("unit", "town-c"), ("role", "monitor"), ("role", "commentator")]).status == .seeOther)
            #expect(try hub.org.users["qian"]?.roles == [.monitor, .commentator])
            let settingsFields = { (holiday: String) -> [(String, String)] in
                [("_csrf", token), ("scheme", "four"), ("utc_offset", "480"), ("monthly_days", "3"), ("holiday", holiday)]
                    + DeadlineClock.allCases.filter { DeadlineTable.defaults[$0] != nil }.map { ("deadline_\($0.rawValue)", $0 == .quickReport ? "45" : String(DeadlineTable.defaults[$0]!)) }
            }
            let badDay = try await b.post("/console/organisation/settings", settingsFields("2026-13-01"))
            #expect(badDay.status == .unprocessableContent && badDay.html.contains(#"id="settings-holiday-error""#) && badDay.html.contains(#"value="2026-13-01""#))
            #expect(try hub.org.settings.deadlines.minutes[.quickReport] != 45, "nothing was saved")
            #expect(try await b.post("/console/organisation/settings", settingsFields("2026-10-01..2026-10-07")).status == .seeOther)
            #expect(try hub.org.settings.holidays.count == 7)
            #expect(try hub.org.settings.deadlines.minutes[.quickReport] == 45)
            #expect(try await b.post("/console/organisation/keyword", [("_csrf", token), ("word", "食堂"), ("topic", "校园安全")]).status == .seeOther)
            #expect(try await b.post("/console/organisation/retire", [("_csrf", token), ("word", "食堂")]).status == .seeOther)
            let keywords = try hub.storage.replica.views(kinds: [CaseSchema.Kind.keyword]).compactMap(Keyword.init)
            #expect(keywords.count == 1 && keywords[0].active == false)
        }
        try await hub.run { b in
            try await b.signIn("zhou")
            #expect(try await b.get("/console/organisation").status == .forbidden)
        }
    }

    /// Random and malformed form bodies at every form of the console: refused, never a server
    /// error, never a crash.
    @Test func hostileFormsAreRefusedWithoutAServerError() async throws {
        let hub = try await ConsoleHarness()
        let id = try hub.register("li", title: "网帖：城关镇卫生院收费")
        var rng = SeededRandom(seed: 11)
        var bodies: [[(String, String)]] = []
        let names = ["_csrf", "opinion", "lead", "co", "deadline", "unit", "note", "draft", "reason", "link", "choice", "custom", "version",
                     "record", "field", "id", "name", "parent", "role", "scheme", "utc_offset", "monthly_days", "holiday", "word", "user", "hours"]
        let values = ["", "%", "%zz", "\u{0}", String(repeating: "长", count: 5000), "-1", "99999999999999999999", "2026-02-30T25:61",
                      "../../etc/passwd", "<script>alert(1)</script>", "town-a", "side-9", "custom", "I", "0"]
        for _ in 0..<60 {
            bodies.append((0..<Int(1 + rng.next() % 8)).map { _ in (names[Int(rng.next() % UInt64(names.count))], values[Int(rng.next() % UInt64(values.count))]) })
        }
        let fixed = bodies
        try await hub.run { b in
            try await b.signIn("wang")
            let token = try #require(try await b.get("/console/dashboard").csrf)
            let paths = ["assess", "assign", "urge", "notice", "approve", "return", "publish", "archive", "nonsense"].map { "/console/cases/\(id)/steps/\($0)" }
                + ["/console/conflicts/x/resolve", "/console/devices/enrol", "/console/devices/x/revoke", "/console/organisation/unit",
                   "/console/organisation/user", "/console/organisation/settings", "/console/organisation/keyword", "/console/organisation/retire",
                   "/console/sign-in", "/console/sign-out"]
            for (i, body) in fixed.enumerated() {
                for path in paths {
                    let page = try await b.post(path, (i % 2 == 0 ? [("_csrf", token)] : []) + body)
                    #expect(page.status.code < 500, "\(path) \(body.map(\.0))")
                    if page.status == .seeOther, path.hasSuffix("sign-out") { try await b.signIn("wang") }
                }
                if i % 10 == 0 {
                    let page = try await b.get("/console/cases?q=\(Browser.encode(body.first?.1 ?? ""))&page=\(body.count * 1000)&level=\(Browser.encode(body.last?.1 ?? ""))")
                    #expect(page.status.code < 500)
                }
            }
            // The page of the script-bearing value shows it as text.
            _ = try await b.post("/console/cases/\(id)/steps/assess", [("_csrf", try #require(try await b.get("/console/dashboard").csrf)), ("opinion", "<script>alert(1)</script>")])
            let page = try await b.get("/console/cases/\(id)")
            #expect(!page.html.contains("<script>") && page.html.contains("&lt;script&gt;"))
        }
    }
}

@Suite("Console: the dashboard")
struct ConsoleDashboardTests {
    @Test func theDashboardShowsWhatNeedsTheOfficeNow() async throws {
        let hub = try await ConsoleHarness()
        let overdue = try hub.register("li", title: "网帖：城关镇卫生院收费")  // its quick report is due in 30 minutes
        let device = "00000000000000aa"
        let enrolment = Device.enrolment(id: device, publicKey: SigningKey().publicKey.base64, unit: "town-a", user: "li", at: hub.now)
        _ = try hub.storage.replica.write(enrolment.map { Replica.Write($0.record, $0.field, $0.value) }, author: "operator@hub")
        await hub.accounts.deviceSeen(Device(try hub.storage.replica.view(Device.ref(device))!)!, now: hub.now)
        try await hub.run { b in
            try await b.signIn("wang")
            let soon = try await b.get("/console/dashboard")
            #expect(soon.html.contains(">1</span><span>一般<"), "one open case of level III")
            let dueSoon = try #require(soon.html.components(separatedBy: #"id="due-soon""#).last)
            #expect(dueSoon.contains(overdue))
            let stale = try #require(soon.html.components(separatedBy: #"id="stale""#).last)
            #expect(stale.contains("河西镇") && stale.contains("尚无已注册的设备") && !stale.contains("城关镇"))
            #expect(soon.html.contains(#"id="compliance""#))
            #expect(!soon.html.contains("<script"), "no page needs a script")
            hub.advance(minutes: 25 * 60)
            let later = try await b.get("/console/dashboard")
            let overdueNow = try #require(later.html.components(separatedBy: #"id="overdue""#).last?.components(separatedBy: #"id="due-soon""#).first)
            #expect(overdueNow.contains(overdue), "past its deadline the case is overdue")
            #expect(try #require(later.html.components(separatedBy: #"id="stale""#).last).contains("城关镇"), "a unit silent for 25 hours")
        }
    }
}
