import Foundation
import Hummingbird
import YuqingCases
import YuqingCore
import YuqingOffice

extension Console {
    func registerStatistics(on group: RouterGroup<ConsoleRequestContext>) {
        group.get("statistics") { request, context in try await self.statisticsPage(request, context) }
        group.get("statistics.csv") { request, context in try await self.statisticsExport(request, context, xlsx: false) }
        group.get("statistics.xlsx") { request, context in try await self.statisticsExport(request, context, xlsx: true) }
    }

    /// The period asked for (`month=2026-10` or `quarter=2026Q4`), this month by default.
    func period(_ request: Request, _ v: Viewer) throws -> Period {
        let q = request.uri.queryParameters
        if let text = q.get("quarter"), !text.isEmpty {
            guard let p = Period.quarter(text), (2000...2200).contains(p.first.year) else { throw ConsoleError(.input, "'\(text)' is not a quarter; write it as 2026Q4", zh: "“\(text)”不是季度；请写成2026Q4的形式") }
            return p
        }
        if let text = q.get("month"), !text.isEmpty {
            guard let m = Month(text), (2000...2200).contains(m.year) else { throw ConsoleError(.input, "'\(text)' is not a month; write it as 2026-10", zh: "“\(text)”不是月份；请写成2026-10的形式") }
            return .month(m)
        }
        return .month(v.org.settings.calendar.date(v.now).monthOfYear)
    }

    /// The statistics of `period` as `v` may see them: everyone's for the office, a unit's own
    /// for its users.
    func statistics(_ period: Period, _ v: Viewer) async throws -> Statistics {
        let index = try await freshIndex()
        let org = v.org, now = v.now, unit: String? = v.seesAll ? nil : v.user.unit
        return try await replica.offload { _ in
            guard let unit else { return try index.statistics(period, org: org, now: now) }
            let calendar = org.settings.calendar
            let cases = try index.caseSummaries(touching: calendar.times(period)).filter { $0.scope.contains(unit) }
            let reports = try index.reports(for: period).filter { $0.unit == unit }
            var stats = Statistics.compute(cases: cases, reports: reports, requiredUnits: Statistics.requiredUnits(org).filter { $0 == unit },
                                           period: period, calendar: calendar, now: now)
            // Its cases name other units too (a lead unit, the unit urged): only the unit's own
            // figures are shown, and they are the total.
            let own = stats.units.first { $0.unit == unit } ?? Statistics.Row(unit: unit)
            stats.units = [own]
            stats.total = own
            stats.total.unit = nil
            return stats
        }
    }

    func statisticsPage(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let v = try await viewer(request, context)
        let l = v.language
        let period = try self.period(request, v)
        let stats = try await statistics(period, v)
        let tables = OfficeTables.statistics(stats, org: v.org, language: l).map { t -> [String: Any] in
            ["name": t.name, "header": t.header.map { ["cell": $0] }, "rows": t.rows.map { ["cells": $0.map { ["cell": $0.text] }] }, "empty": t.rows.isEmpty]
        }
        let scheme = v.org.settings.levelScheme
        let byLevel = scheme.levels.map { (l.level($0, scheme: scheme), Double(stats.total.byLevel[$0] ?? 0)) }
        let byUnit = stats.units.filter { $0.cases > 0 }.map { (v.unitName($0.unit ?? ""), Double($0.cases)) }
        let onTime = stats.units.compactMap { r in r.allClocks.rate.map { (v.unitName(r.unit ?? ""), $0 * 100) } }
        let query = request.uri.query.map { "?" + $0 } ?? ""
        let calendar = v.org.settings.calendar
        let thisMonth = calendar.date(v.now).monthOfYear
        let months = (0..<6).reduce(into: [Month]()) { acc, _ in acc.append(acc.last?.previous ?? thisMonth) }
        let data: [String: Any] = [
            "period": period.label, "tables": tables,
            "chart_level": SVGChart.bars(byLevel, title: l.t("Cases by level", "按级别统计案件"), unit: ""),
            "chart_unit": SVGChart.bars(byUnit, title: l.t("Cases by unit", "按单位统计案件"), unit: ""),
            "chart_ontime": SVGChart.bars(onTime, title: l.t("On-time rate by unit (%)", "各单位按时率（%）"), unit: "%", maximum: 100),
            "csv": "/console/statistics.csv\(query)", "xlsx": "/console/statistics.xlsx\(query)",
            "months": months.map { ["month": $0.description, "href": "/console/statistics?month=\($0.description)"] },
        ]
        return page(v, language: l, title: l.t("Statistics", "统计") + " " + period.label, template: "statistics", data: data, path: "/console/statistics")
    }

    func statisticsExport(_ request: Request, _ context: ConsoleRequestContext, xlsx: Bool) async throws -> Response {
        let v = try await viewer(request, context)
        let period = try self.period(request, v)
        let tables = OfficeTables.statistics(try await statistics(period, v), org: v.org, language: v.language)
        let name = "statistics-\(period.label.filter { $0.isLetter || $0.isNumber || $0 == "-" })"
        if xlsx {
            let data = try XLSX.data(tables)
            return Response(status: .ok, headers: [.contentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                                   .contentDisposition: "attachment; filename=\"\(name).xlsx\""],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(name).csv\""],
                        body: .init(byteBuffer: ByteBuffer(bytes: CSV.data(tables[0]))))
    }
}

/// Bar charts drawn on the hub as SVG (no script, no external asset).
enum SVGChart {
    static func bars(_ values: [(String, Double)], title: String, unit: String, maximum: Double? = nil) -> String {
        let width = 480.0, barHeight = 22.0, gap = 6.0, labelWidth = 130.0
        let height = Double(max(values.count, 1)) * (barHeight + gap) + 34
        let top = maximum ?? max(values.map(\.1).max() ?? 1, 1)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<title>\(escape(title))</title><text x=\"0\" y=\"16\" class=\"chart-title\">\(escape(title))</text>"
        if values.isEmpty { svg += "<text x=\"0\" y=\"44\" class=\"chart-label\">—</text>" }
        for (i, (label, value)) in values.enumerated() {
            let y = 28 + Double(i) * (barHeight + gap)
            let w = max(1, (width - labelWidth - 70) * value / top)
            svg += "<text x=\"0\" y=\"\(Int(y + 15))\" class=\"chart-label\">\(escape(String(label.prefix(9))))</text>"
            svg += "<rect x=\"\(Int(labelWidth))\" y=\"\(Int(y))\" width=\"\(Int(w))\" height=\"\(Int(barHeight))\" class=\"bar\"/>"
            let shown = value.rounded() == value ? String(Int(value)) : String(format: "%.1f", value)
            svg += "<text x=\"\(Int(labelWidth + w + 6))\" y=\"\(Int(y + 15))\" class=\"chart-value\">\(shown)\(unit)</text>"
        }
        return svg + "</svg>"
    }

    /// SVG is XML: the workbook's escaping.
    static func escape(_ s: String) -> String { XLSX.escaped(s) }
}
