import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingReplica

struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "The unit tree, users and roles, and the office's settings.",
        discussion: """
            Edited at the hub (`--db` the hub's database, while it runs or not) or on a node whose
            user is an operator; nodes receive it at their next sync and use what they last received
            while offline.
            """,
        subcommands: [UnitAdd.self, UserAdd.self, UserRevoke.self, Settings.self, Show.self])

    /// Opens the replica to write the organisation: the hub's own file, or an operator's node.
    static func writer(_ options: ReplicaOptions) throws -> (Replica, String) {
        let replica = try Replica.open(at: try options.path(), schema: CaseSchema.schema)
        if replica.role == .hub { return (replica, Actor(user: "operator", unit: "hub").author) }
        let ctx = try NodeContext.open(options)
        guard ctx.roles.contains(.operator) else {
            throw CLIError("the organisation is edited by the operator; \(ctx.actor.user) is not one (edit it at the hub: --db HUB.sqlite)")
        }
        return (replica, ctx.actor.author)
    }

    static func write(_ options: ReplicaOptions, _ writes: () throws(WorkflowError) -> [FieldWrite]) throws {
        let (replica, author) = try writer(options)
        let w: [FieldWrite]
        do { w = try writes() } catch { throw CLIError(error.message) }
        try replica.write(w.map { Replica.Write($0.record, $0.field, $0.value) }, author: author)
    }

    struct UnitAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unit", abstract: "Add or rename a unit.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The unit's id (short, no spaces: township-a).") var id: String
        @Option(help: "Its name (城关镇).") var name: String?
        @Option(help: "The unit above it.") var parent: String?
        func run() async throws {
            try OrgCommand.write(options) { () throws(WorkflowError) in try OrganisationWrites.unit(id, name: name, parent: parent) }
            print("unit \(id) saved")
        }
    }

    struct UserAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "user", abstract: "Add a user, or give one more roles.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The user's id (zhang.san).") var id: String
        @Option(help: "The user's unit.") var unit: String
        @Option(name: .customLong("role"), help: "A role: \(Role.names); repeat for more.") var roles: [String] = []
        @Option(help: "The person's name.") var name: String?
        func run() async throws {
            let parsed = try NodeCommand.roles(roles)
            if parsed.isEmpty { throw CLIError("give at least one --role (\(Role.names))") }
            try OrgCommand.write(options) { () throws(WorkflowError) in try OrganisationWrites.user(id, name: name, unit: unit, roles: parsed) }
            print("user \(id) saved (\(unit): \(parsed.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    struct UserRevoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-role", abstract: "Take a role from a user.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The user's id.") var id: String
        @Argument(help: "The role.") var role: String
        func run() async throws {
            guard let r = Role(name: role) else { throw CLIError("'\(role)' is not a role; roles are: \(Role.names)") }
            try OrgCommand.write(options) { () throws(WorkflowError) in OrganisationWrites.revokeRole(id, r) }
            print("role \(r.rawValue) taken from \(id)")
        }
    }

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The level scheme, the office's time zone, the deadline table and the evidence size limit.")
        @OptionGroup var options: ReplicaOptions
        @Option(name: .customLong("level-scheme"), help: "four (I–IV, default) or three (一级/二级/三级).") var levelScheme: String?
        @Option(name: .customLong("utc-offset"), help: "The office's time zone in minutes east of UTC (480 for China).") var utcOffset: Int64?
        @Option(name: .customLong("deadline"), help: "CLOCK=MINUTES, clocks: \(DeadlineClock.allCases.map(\.rawValue).joined(separator: ", ")).") var deadlines: [String] = []
        @Option(name: .customLong("evidence-max-bytes"), help: "The largest evidence file accepted.") var evidenceMaxBytes: Int64?
        @Option(name: .customLong("holiday"), help: "A holiday (2026-10-01), or a span (2026-10-01..2026-10-07): report deadlines move past it. Repeat for more.")
        var holidays: [String] = []
        @Option(name: .customLong("not-holiday"), help: "A day (or span) that is no longer a holiday.") var notHolidays: [String] = []
        @Option(name: .customLong("monthly-report-days"), help: "The monthly report is due within this many first days of the month (default 3).")
        var monthlyReportDays: Int64?
        func run() async throws {
            let add = try holidays.flatMap(Self.days), remove = try notHolidays.flatMap(Self.days)
            if let n = monthlyReportDays, !(1...28).contains(n) { throw CLIError("--monthly-report-days is 1 to 28") }
            let scheme = try levelScheme.map { s in
                guard let v = LevelScheme(rawValue: s) else { throw CLIError("'\(s)' is not a level scheme; use four or three") }
                return v
            }
            var table: [DeadlineClock: Int64] = [:]
            for d in deadlines {
                let parts = d.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let clock = DeadlineClock(rawValue: parts[0]), let m = Int64(parts[1]), m > 0 else {
                    throw CLIError("'\(d)' is not CLOCK=MINUTES; clocks: \(DeadlineClock.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                table[clock] = m
            }
            try OrgCommand.write(options) { () throws(WorkflowError) in
                OrganisationWrites.settings(scheme: scheme, utcOffsetMinutes: utcOffset, deadlines: table, evidenceMaxBytes: evidenceMaxBytes,
                                            holidays: add, removeHolidays: remove, monthlyReportDays: monthlyReportDays)
            }
            print("settings saved" + (add.isEmpty ? "" : " (\(add.count) holidays added)") + (remove.isEmpty ? "" : " (\(remove.count) holidays removed)"))
        }

        /// `2026-10-01` or `2026-10-01..2026-10-07`.
        static func days(_ text: String) throws -> [CivilDate] {
            let parts = text.components(separatedBy: "..")
            guard (1...2).contains(parts.count), let a = CivilDate(parts[0]), let b = CivilDate(parts.last!), a <= b,
                  b.daysSince1970 - a.daysSince1970 < 366 else {
                throw CLIError("'\(text)' is not a day (2026-10-01) or a span of at most a year (2026-10-01..2026-10-07)")
            }
            return (0...Int(b.daysSince1970 - a.daysSince1970)).map { a.adding(days: $0) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the organisation as this replica holds it.")
        @OptionGroup var options: ReplicaOptions
        @Flag(help: "Print JSON.") var json = false
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
                print("unit \(u.id.terminalSafe)  \(u.name.terminalSafe)" + (u.parent.map { "  (under \($0.terminalSafe))" } ?? ""))
            }
            for u in org.users.values.sorted(by: { $0.id < $1.id }) {
                print("user \(u.id.terminalSafe)  \(u.unit.terminalSafe)  \(u.roles.sorted().map(\.rawValue).joined(separator: ", "))")
            }
            let holidays = org.settings.holidays.sorted()
            if !holidays.isEmpty { print("holidays: " + holidays.map(\.description).joined(separator: ", ")) }
            print("levels: \(org.settings.levelScheme.rawValue); time zone: UTC\(org.settings.utcOffsetMinutes >= 0 ? "+" : "")\(org.settings.utcOffsetMinutes / 60)")
        }
    }
}
