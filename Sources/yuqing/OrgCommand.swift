import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingReplica

struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: L("The unit tree, users and roles, and the office's settings.",
                                        zh: "单位树、用户和角色，以及舆情办的各项设置。"),
        discussion: L("""
            Edited at the hub (`--db` the hub's database, while it runs or not) or on a node whose
            user is an operator; nodes receive it at their next sync and use what they last received
            while offline.
            """, zh: """
            在中心编辑（`--db` 指向中心数据库，中心运行与否均可），或在用户为运维人员的节点上编辑；
            各节点在下次同步时收到，离线时使用最近一次收到的内容。
            """),
        subcommands: [UnitAdd.self, UserAdd.self, UserRevoke.self, Settings.self, Show.self])

    /// Opens the replica to write the organisation: the hub's own file, or an operator's node.
    static func writer(_ options: ReplicaOptions) throws -> (Replica, String) {
        let replica = try Replica.open(at: try options.path(), schema: CaseSchema.schema)
        if replica.role == .hub { return (replica, Actor(user: "operator", unit: "hub").author) }
        let ctx = try NodeContext.open(options)
        guard ctx.roles.contains(.operator) else {
            throw CLIError("the organisation is edited by the operator; \(ctx.actor.user) is not one (edit it at the hub: --db HUB.sqlite)",
                           zh: "组织信息由运维人员编辑；\(ctx.actor.user)不是运维人员（请在中心编辑：--db HUB.sqlite）")
        }
        return (replica, ctx.actor.author)
    }

    static func write(_ options: ReplicaOptions, _ writes: () throws(WorkflowError) -> [FieldWrite]) throws {
        let (replica, author) = try writer(options)
        let w: [FieldWrite]
        do { w = try writes() } catch { throw CLIError(error) }
        try replica.write(w.map { Replica.Write($0.record, $0.field, $0.value) }, author: author)
    }

    struct UnitAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unit", abstract: L("Add or rename a unit.", zh: "添加单位或更改单位名称。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The unit's id (short, no spaces: township-a).", zh: "单位ID（简短，不含空格，如 township-a）。"))) var id: String
        @Option(help: ArgumentHelp(L("Its name (城关镇).", zh: "单位名称（如城关镇）。"))) var name: String?
        @Option(help: ArgumentHelp(L("The unit above it.", zh: "上级单位。"))) var parent: String?
        func run() async throws {
            try OrgCommand.write(options) { () throws(WorkflowError) in try OrganisationWrites.unit(id, name: name, parent: parent) }
            print(L("unit \(id) saved", zh: "单位\(id)已保存"))
        }
    }

    struct UserAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "user", abstract: L("Add a user, or give one more roles.", zh: "添加用户，或为用户增加角色。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The user's id (zhang.san).", zh: "用户ID（如 zhang.san）。"))) var id: String
        @Option(help: ArgumentHelp(L("The user's unit.", zh: "用户所属单位。"))) var unit: String
        @Option(name: .customLong("role"), help: ArgumentHelp(L("A role: \(Role.names); repeat for more.",
                                                                 zh: "角色：\(Role.names)；多个角色可重复给出。"))) var roles: [String] = []
        @Option(help: ArgumentHelp(L("The person's name.", zh: "用户姓名。"))) var name: String?
        func run() async throws {
            let parsed = try NodeCommand.roles(roles)
            if parsed.isEmpty { throw CLIError("give at least one --role (\(Role.names))", zh: "请至少给出一个 --role（\(Role.names)）") }
            try OrgCommand.write(options) { () throws(WorkflowError) in try OrganisationWrites.user(id, name: name, unit: unit, roles: parsed) }
            let names = parsed.map(\.rawValue).joined(separator: ", ")
            print(L("user \(id) saved (\(unit): \(names))", zh: "用户\(id)已保存（\(unit)：\(names)）"))
        }
    }

    struct UserRevoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-role", abstract: L("Take a role from a user.", zh: "收回用户的某个角色。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The user's id.", zh: "用户ID。"))) var id: String
        @Argument(help: ArgumentHelp(L("The role.", zh: "角色。"))) var role: String
        func run() async throws {
            guard let r = Role(name: role) else {
                throw CLIError("'\(role)' is not a role; roles are: \(Role.names)", zh: "“\(role)”不是角色；可用的角色有：\(Role.names)")
            }
            try OrgCommand.write(options) { () throws(WorkflowError) in OrganisationWrites.revokeRole(id, r) }
            print(L("role \(r.rawValue) taken from \(id)", zh: "已收回\(id)的角色\(r.rawValue)"))
        }
    }

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("The level scheme, the office's time zone, the deadline table and the evidence size limit.",
                                                                    zh: "分级方案、舆情办所在时区、时限表和证据文件大小上限。"))
        @OptionGroup var options: ReplicaOptions
        @Option(name: .customLong("level-scheme"), help: ArgumentHelp(L("four (I–IV, default) or three (一级/二级/三级).",
                                                                         zh: "four（四级：I–IV，默认）或three（三级：一级/二级/三级）。"))) var levelScheme: String?
        @Option(name: .customLong("utc-offset"), help: ArgumentHelp(L("The office's time zone in minutes east of UTC (480 for China).",
                                                                       zh: "舆情办所在时区，以比UTC早的分钟数表示（中国为480）。"))) var utcOffset: Int64?
        @Option(name: .customLong("deadline"), help: ArgumentHelp(L("CLOCK=MINUTES, clocks: \(DeadlineClock.allCases.map(\.rawValue).joined(separator: ", ")).",
                                                                     zh: "时限=分钟数（CLOCK=MINUTES），时限有：\(DeadlineClock.allCases.map(\.rawValue).joined(separator: ", "))。"))) var deadlines: [String] = []
        @Option(name: .customLong("evidence-max-bytes"), help: ArgumentHelp(L("The largest evidence file accepted.", zh: "可接收的证据文件最大字节数。"))) var evidenceMaxBytes: Int64?
        @Option(name: .customLong("holiday"), help: ArgumentHelp(L("A holiday (2026-10-01), or a span (2026-10-01..2026-10-07): report deadlines move past it. Repeat for more.",
                                                                    zh: "节假日（如2026-10-01）或一段日期（如2026-10-01..2026-10-07）：报告截止时间顺延至节假日之后。可重复给出。")))
        var holidays: [String] = []
        @Option(name: .customLong("not-holiday"), help: ArgumentHelp(L("A day (or span) that is no longer a holiday.", zh: "不再作为节假日的日期（或一段日期）。"))) var notHolidays: [String] = []
        @Option(name: .customLong("monthly-report-days"), help: ArgumentHelp(L("The monthly report is due within this many first days of the month (default 3).",
                                                                                zh: "月报告须在每月前几天内报送（默认3天）。")))
        var monthlyReportDays: Int64?
        func run() async throws {
            let add = try holidays.flatMap(Self.days), remove = try notHolidays.flatMap(Self.days)
            if let n = monthlyReportDays, !(1...28).contains(n) { throw CLIError("--monthly-report-days is 1 to 28", zh: "--monthly-report-days 须在1到28之间") }
            let scheme = try levelScheme.map { s in
                guard let v = LevelScheme(rawValue: s) else {
                    throw CLIError("'\(s)' is not a level scheme; use four or three", zh: "“\(s)”不是分级方案；请用four或three")
                }
                return v
            }
            var table: [DeadlineClock: Int64] = [:]
            for d in deadlines {
                let parts = d.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let clock = DeadlineClock(rawValue: parts[0]), let m = Int64(parts[1]), m > 0 else {
                    let clocks = DeadlineClock.allCases.map(\.rawValue).joined(separator: ", ")
                    throw CLIError("'\(d)' is not CLOCK=MINUTES; clocks: \(clocks)", zh: "“\(d)”不是“时限=分钟数”（CLOCK=MINUTES）的格式；时限有：\(clocks)")
                }
                table[clock] = m
            }
            try OrgCommand.write(options) { () throws(WorkflowError) in
                OrganisationWrites.settings(scheme: scheme, utcOffsetMinutes: utcOffset, deadlines: table, evidenceMaxBytes: evidenceMaxBytes,
                                            holidays: add, removeHolidays: remove, monthlyReportDays: monthlyReportDays)
            }
            let added: String = add.isEmpty ? "" : L(" (\(add.count) holidays added)", zh: "（新增\(add.count)个节假日）")
            let removed: String = remove.isEmpty ? "" : L(" (\(remove.count) holidays removed)", zh: "（取消\(remove.count)个节假日）")
            print(L("settings saved", zh: "设置已保存") + added + removed)
        }

        /// `2026-10-01` or `2026-10-01..2026-10-07`.
        static func days(_ text: String) throws -> [CivilDate] {
            guard let days = CivilDate.days(text) else {
                throw CLIError("'\(text)' is not a day (2026-10-01) or a span of at most a year (2026-10-01..2026-10-07)",
                               zh: "“\(text)”不是日期（如2026-10-01），也不是不超过一年的一段日期（如2026-10-01..2026-10-07）")
            }
            return days
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("Show the organisation as this replica holds it.", zh: "显示本副本中保存的组织信息。"))
        @OptionGroup var options: ReplicaOptions
        @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以JSON格式输出。"))) var json = false
        func run() async throws {
            let org = Organisation(try options.openForReading().views(kinds: Organisation.kinds))
            if json {
                return try printJSON([
                    "units": org.units.values.sorted { $0.id < $1.id }.map { ["id": $0.id, "name": $0.name, "parent": $0.parent as Any] },
                    "users": org.users.values.sorted { $0.id < $1.id }.map { ["id": $0.id, "name": $0.name, "unit": $0.unit, "roles": $0.roles.sorted().map(\.rawValue)] },
                    "settings": ["level_scheme": org.settings.levelScheme.rawValue, "utc_offset_minutes": org.settings.utcOffsetMinutes,
                                 "evidence_max_bytes": org.settings.evidenceMaxBytes,
                                 "holidays": org.settings.holidays.sorted().map(\.description), "monthly_report_days": org.settings.monthlyReportDays,
                                 "deadline_minutes": Dictionary(uniqueKeysWithValues: org.settings.deadlines.minutes.map { ($0.key.rawValue, $0.value) })],
                ] as [String: Any])
            }
            for u in org.units.values.sorted(by: { $0.id < $1.id }) {
                let parent = u.parent?.terminalSafe
                let under: String = parent.map { L("  (under \($0))", zh: "  （上级：\($0)）") } ?? ""
                print(L("unit \(u.id.terminalSafe)  \(u.name.terminalSafe)", zh: "单位 \(u.id.terminalSafe)  \(u.name.terminalSafe)") + under)
            }
            for u in org.users.values.sorted(by: { $0.id < $1.id }) {
                let rolesZh = u.roles.sorted().map { "\($0.chinese)（\($0.rawValue)）" }.joined(separator: "、")
                print(L("user \(u.id.terminalSafe)  \(u.unit.terminalSafe)  \(u.roles.sorted().map(\.rawValue).joined(separator: ", "))",
                        zh: "用户 \(u.id.terminalSafe)  \(u.unit.terminalSafe)  \(rolesZh)"))
            }
            let holidays = org.settings.holidays.sorted()
            if !holidays.isEmpty {
                print(L("holidays: " + holidays.map(\.description).joined(separator: ", "), zh: "节假日：" + holidays.map(\.description).joined(separator: "、")))
            }
            let offset = org.settings.utcOffsetMinutes
            let zone = "UTC\(offset >= 0 ? "+" : "")\(offset / 60)"
            let scheme = org.settings.levelScheme
            let levelsZh = scheme.levels.map { scheme.chinese($0) }.joined(separator: "/")
            print(L("levels: \(scheme.rawValue); time zone: \(zone)", zh: "分级：\(levelsZh)（\(scheme.rawValue)）；时区：\(zone)"))
        }
    }
}
