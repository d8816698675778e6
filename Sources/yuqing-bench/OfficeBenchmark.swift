import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingOffice
import YuqingReplica
import YuqingTestSupport

/// 12. The office's work at a hub holding a year of history: 100,000 cases of 120 units, each
/// unit's own, with distinct Chinese text, taken through the workflow as units really do (some
/// quick reports late or missing, some handling records late, some assignments overdue and
/// urged, about half replied), every unit's monthly reports (most on time, some late, some
/// missing, some zero) and daily forms. Measures the office index's first build and a day's
/// refresh, a month's statistics, searches (one, two and more characters, with and without
/// filters) and a month's export to XLSX and CSV.
struct OfficeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "office", abstract: "A year at the hub: a month's statistics, search latency, a month's export (targets 1 s, 50 ms p99, 2 s).")

    @Option(help: "Cases over the year.") var cases = 100_000
    @Option(help: "Units (each registers its own cases).") var units = 120
    @Option(help: "Searches timed.") var queries = 1000
    @Option(help: "Months timed for statistics and export.") var months = 5

    func run() async throws { print(try await measure()) }

    /// Fills `storage` with a year of `units`' own cases (`cases` in all), as ``OfficeWorkload``
    /// makes them, after the organisation; returns the number of changes.
    static func fill(_ storage: SQLiteHubStorage, cases: Int, units: Int) async throws -> Int {
        var org = try OrganisationWrites.unit("office", name: "县委网信办", parent: nil)
        for k in 0..<units {
            org += try OrganisationWrites.unit(WorkflowWorkload.unit(k), name: WorkflowWorkload.places[k % 10] + String(k), parent: "office")
            org += try OrganisationWrites.user(WorkflowWorkload.user(k), name: "用户\(k)", unit: WorkflowWorkload.unit(k), roles: Array(WorkflowWorkload.roles))
        }
        org += OrganisationWrites.settings(scheme: nil, utcOffsetMinutes: 480, deadlines: [:], evidenceMaxBytes: nil,
                                           holidays: (1...7).map { CivilDate(year: 2026, month: 10, day: $0)! })
        try storage.replica.write(org.map { Replica.Write($0.record, $0.field, $0.value) }, author: "operator@hub")
        note("office: \(cases) cases of \(units) units over a year, with their steps, monthly reports and daily forms")
        var total = 0
        for k in 0..<units {
            let changes = OfficeWorkload.changes(unit: k, cases: cases / units + (k < cases % units ? 1 : 0))
            for start in stride(from: 0, to: changes.count, by: 5000) {
                _ = try await storage.ingest(Array(changes[start..<min(start + 5000, changes.count)]), from: ReplicaID("bench"), seals: [])
            }
            total += changes.count
            if (k + 1) % 20 == 0 { note("  \(k + 1) units ingested, \(total) changes") }
        }
        return total
    }

    static let yearStart: Int64 = 1_761_926_400_000 - 8 * 3_600_000  // 2025-11-01 00:00 office time (UTC+8)
    static let day: Int64 = 86_400_000

    func measure() async throws -> String {
        let dir = try Scratch("office")
        let path = dir.file("hub.sqlite")
        let storage = try SQLiteHubStorage(path: path, schema: CaseSchema.schema)
        let started = Date()
        let total = try await Self.fill(storage, cases: cases, units: units)
        note("office: hub filled with \(total) changes in \(String(format: "%.0f", Date().timeIntervalSince(started))) s")

        let replica = storage.replica
        let index = OfficeIndex(replica)
        var t0 = Date()
        let built = try index.refresh()
        let buildTime = Date().timeIntervalSince(t0)
        note("office: index built from \(built.records) records in \(String(format: "%.1f", buildTime)) s")

        // A day's new work: every unit registers and handles two more cases.
        for k in 0..<units {
            _ = try await storage.ingest(OfficeWorkload.changes(unit: k, cases: 2, seed: 99, from: Self.yearStart + 366 * Self.day, replica: 5000 + k),
                                         from: ReplicaID("bench"), seals: [])
        }
        t0 = Date()
        let day = try index.refresh()
        let refreshTime = Date().timeIntervalSince(t0)

        let orgNow = Organisation(try replica.views(kinds: Organisation.kinds))
        let now = Self.yearStart + 366 * Self.day
        var rng = SeededRandom(seed: 7)
        let allMonths = (0..<12).map { i in Month(year: 2025 + (10 + i) / 12, month: (10 + i) % 12 + 1)! }
        let timedMonths = (0..<months).map { _ in allMonths[Int(rng.next() % 12)] }
        var statTimes: [Double] = [], exportTimes: [Double] = [], csvTimes: [Double] = []
        var monthCases = 0, exportBytes = 0
        for m in timedMonths {
            t0 = Date()
            try index.refresh()
            let s = try index.statistics(.month(m), org: orgNow, now: now)
            statTimes.append(Date().timeIntervalSince(t0))
            guard s.total.cases > 0, s.monthly.count == units else { throw BenchError("the statistics of \(m) are empty") }
            t0 = Date()
            let list = try index.cases(discovered: orgNow.settings.calendar.times(.month(m)))
            let data = try XLSX.data([OfficeTables.cases(list, org: orgNow, language: .zh, now: now, name: "案件 \(m)")])
            try data.write(to: URL(fileURLWithPath: dir.file("cases-\(m).xlsx")))
            exportTimes.append(Date().timeIntervalSince(t0))
            t0 = Date()
            let csv = CSV.data(OfficeTables.cases(try index.cases(discovered: orgNow.settings.calendar.times(.month(m))), org: orgNow, language: .zh, now: now, name: "案件"))
            try csv.write(to: URL(fileURLWithPath: dir.file("cases-\(m).csv")))
            csvTimes.append(Date().timeIntervalSince(t0))
            monthCases = list.count
            exportBytes = data.count
        }

        // Searches: words of one, two, three and four characters from the cases' own vocabulary,
        // one query in three with a filter.
        let words = (WorkflowWorkload.places + WorkflowWorkload.subjects + WorkflowWorkload.issues + OfficeWorkload.findings)
        var searchTimes: [Double] = [], byLength: [Int: [Double]] = [:], hits = 0
        for i in 0..<queries {
            let w = words[Int(rng.next() % UInt64(words.count))]
            let length = 1 + i % 4
            let start = Int(rng.next() % UInt64(max(1, w.count - length + 1)))
            let term = String(Array(w)[start..<min(w.count, start + length)])
            var q = SearchQuery(text: term)
            q.limit = 50
            switch i % 6 {
            case 1: q.level = ["I", "II", "III", "IV"][i % 4]
            case 3: q.unit = WorkflowWorkload.unit(Int(rng.next() % UInt64(units)))
            case 5:
                let m = allMonths[Int(rng.next() % 12)]
                let span = orgNow.settings.calendar.times(.month(m))
                (q.from, q.to) = (span.lowerBound, span.upperBound)
            default: break
            }
            if i % 12 == 7 { q.overdue = true }
            t0 = Date()
            hits += try index.search(q, now: now).count
            let t = Date().timeIntervalSince(t0)
            searchTimes.append(t)
            byLength[term.count, default: []].append(t)
        }

        func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
        func sec(_ s: Double) -> String { String(format: "%.2f s", s) }
        var rows = [
            "| what | measured | target |",
            "|---|---|---|",
            "| hub's content | \(total) changes: \(cases) cases of \(units) units over a year, monthly reports, daily forms | |",
            "| index: first build | \(sec(buildTime)) for \(built.records) records | (once) |",
            "| index: refresh after a day's work (\(units * 2) new cases) | \(sec(refreshTime)) for \(day.records) records | |",
            "| a month's statistics (\(months) months; refresh included) | median \(sec(median(statTimes))), max \(sec(statTimes.max()!)) | ≤ 1 s |",
            "| search (\(queries) queries, 50 results at most, \(hits) results in all) | p50 \(ms(percentile(searchTimes, 0.5))), p99 \(ms(percentile(searchTimes, 0.99))), max \(ms(searchTimes.max()!)) | p99 ≤ 50 ms |",
        ]
        for n in byLength.keys.sorted() {
            let t = byLength[n]!
            rows.append("| search, \(n)-character terms (\(t.count)) | p50 \(ms(percentile(t, 0.5))), p99 \(ms(percentile(t, 0.99))) | |")
        }
        rows += [
            "| a month's cases to XLSX (\(monthCases) rows, \(exportBytes / 1024) KiB) | median \(sec(median(exportTimes))), max \(sec(exportTimes.max()!)) | ≤ 2 s |",
            "| a month's cases to CSV | median \(sec(median(csvTimes))), max \(sec(csvTimes.max()!)) | ≤ 2 s |",
        ]
        return rows.joined(separator: "\n")
    }
}

/// One unit's year: its own cases with distinct Chinese text, through the workflow with the
/// lapses real units have, and its routine reports. Deterministic for a seed.
enum OfficeWorkload {
    static let findings = WorkflowWorkload.findings + ["群众反映属实", "已协调相关部门", "问题已经解决", "正在进一步调查"]

    static func changes(unit k: Int, cases: Int, seed: UInt64 = 1, from start: Int64 = OfficeBench.yearStart, replica rid: Int? = nil) -> [Change] {
        var rng = SeededRandom(seed: seed &+ UInt64(k) &* 0x9E37)
        var replica = ReplicaState(id: IngestWorkload.replicaID(rid ?? (2000 + k)), schema: CaseSchema.schema)
        let actor = Actor(user: WorkflowWorkload.user(k), unit: WorkflowWorkload.unit(k))
        let ids = WorkflowWorkload.Counter("\(k)o\(seed)")
        let gap = 365 * OfficeBench.day / Int64(max(1, cases))
        var now = start + Int64(k) * 37_000
        var out: [Change] = []
        func write(_ w: [FieldWrite], at t: Int64) {
            for f in w { out.append(replica.write(f.record, f.field, f.value, author: actor.author, physicalMillis: UInt64(t))) }
        }
        @discardableResult
        func take(_ action: CaseAction, _ id: String?, after minutes: Int64) -> String? {
            now += minutes * 60_000
            let planner = Planner(actor: actor, roles: WorkflowWorkload.roles, org: Organisation(), now: now, newID: { ids.next($0) })
            let file = id.map { CaseFile(replica.view(CaseSchema.caseRef($0))) }
            guard let plan = try? planner.plan(action, on: file) else { return nil }
            write(plan.writes, at: now)
            return plan.caseID
        }
        var monthOfLast: Month?
        let cal = OfficeCalendar(utcOffsetMinutes: 480)
        for n in 1...max(1, cases) {
            let discovered = start + Int64(n - 1) * gap + Int64(rng.next() % UInt64(gap))
            now = max(now, discovered)
            // Monthly reports on each month that has ended, filed in its first days (some late,
            // some never), and a daily form for each day.
            let month = cal.date(now).monthOfYear
            if let last = monthOfLast, last != month {
                let r = Int(rng.next() % 20)
                if r < 18 {
                    let filedAt = cal.start(month.first) + (r < 16 ? Int64(r % 3) : 5) * OfficeBench.day + 9 * 3_600_000
                    let filing = Filing(at: filedAt, by: actor, zero: k % 17 == 0, cases: k % 17 == 0 ? nil : Int64(30 + r), text: k % 17 == 0 ? nil : "本月共发现舆情\(30 + r)件，均已按要求处置（\(actor.unit)）。")
                    write((try? ReportWrites.file(.monthly, period: last.description, filing: filing, entryID: ids.next("F-"))) ?? [], at: filedAt)
                }
            }
            monthOfLast = month
            if n % 3 == 0 {
                let filing = Filing(at: now, by: actor, zero: false, cases: Int64(n % 4), rounds: 3, text: "今日巡查3次，发现\(n % 4)条相关信息。")
                write((try? ReportWrites.file(.daily, period: cal.date(now).description, filing: filing, entryID: ids.next("F-"))) ?? [], at: now)
            }
            let r = Int(rng.next() % 1000)
            let place = WorkflowWorkload.places[(k + r) % 10], subject = WorkflowWorkload.subjects[r % 10], issue = WorkflowWorkload.issues[(r / 10) % 10]
            var reg = Registration(title: "\(place)\(subject)\(issue)，网民反映第\(n)起（\(actor.unit)）")
            reg.summary = "有网民发帖称\(place)\(subject)存在\(issue)问题，浏览量约\(100 + r * 7)次，评论\(r % 50)条。"
            reg.excerpt = "“\(place)的\(subject)\(issue)，希望有关部门管一管。”编号\(k)-\(n)-\(r)"
            reg.platform = Platform.allCases[r % Platform.allCases.count]
            reg.url = "https://bbs.example.cn/t/\(k)/\(n)/\(r)"
            reg.poster = "网友\(r % 997)"
            reg.category = Category.allCases[r % 4]
            reg.level = ["IV", "III", "III", "II"][r % 4]
            reg.keywords = [issue]
            reg.discoveredAt = discovered
            guard let id = take(.register(reg), nil, after: 0) else { continue }
            // Quick report: mostly within 30 minutes, some late, some never.
            if r % 10 < 9 { take(.quickReport("帖子属实存在，已截图取证（第\(n)起）。"), id, after: r % 10 < 7 ? 10 : 45) }
            take(.assess(category: reg.category, level: reg.level, opinion: "由\(actor.unit)牵头核实\(issue)问题。"), id, after: 20)
            guard r % 20 != 0 else { continue }  // 5% never assigned
            take(.assign(lead: actor.unit, coUnits: [], deadline: now + Int64(2 + r % 4) * OfficeBench.day, instruction: "请尽快核实并回复。"), id, after: 30)
            if r % 10 == 9 {
                // Nothing came: urged, then noticed.
                take(.urge(unit: actor.unit, note: "请立即报送处置情况。"), id, after: 6 * 24 * 60)
                if r % 20 == 19 { take(.notice(unit: actor.unit, note: "逾期未报。"), id, after: 24 * 60) }
                continue
            }
            let kind: ReportKind = Level.isMajor(reg.level) ? .written : .handling
            take(.report(kind, "\(findings[r % findings.count])，第\(n)起。"), id, after: r % 10 < 7 ? 60 : 30 * 60)
            guard r % 2 == 0 else { continue }  // about half replied
            take(.draft(text: "经核实，\(place)\(subject)\(issue)一事\(findings[(r + 1) % findings.count])，特此回复（第\(n)起）。", revises: nil), id, after: 60)
            guard let draft = CaseFile(replica.view(CaseSchema.caseRef(id))).state.replies.last?.id else { continue }
            take(.sign(draft: draft), id, after: 30)
            take(.approve(draft: draft, note: nil), id, after: 60)
            take(.publish(draft: draft, link: "https://bbs.example.cn/t/\(k)/\(n)#reply"), id, after: 30)
            if r % 3 == 0 { take(.archive(note: nil), id, after: 7 * 24 * 60) }
        }
        return out
    }
}
