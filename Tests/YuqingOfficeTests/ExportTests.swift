import Foundation
import Testing
import YuqingTestSupport
@testable import YuqingOffice

/// The CSV and XLSX writers, checked by reading their files back with independent readers: the
/// Python `csv` module and openpyxl, from the project's tools venv (`scripts/tools.sh`).
@Suite struct ExportTests {
    static let report = Table(
        name: "网络舆情日报告表",
        header: ["编号", "标题", "来源, 平台", "转发量", "占比", "备注"],
        rows: [
            [1, "某市\"网络谣言\"事件, 已核实", "微博", 12_345, 0.25, "=1+1"],
            [2, "多行说明\n第二行\r\n第三行", "抖音", -7, 1234.5678, .empty],
            [3, "  前后空格  ", "@官方账号", 0, -2.5, "+86 138"],
            [4, "_x0041_ is not A", "tab\there", 9_007_199_254_740_993, 1e-7, "-"],
        ])
    static let handling = Table(
        name: "处置情况登记表 2024/05 [草稿]",
        header: ["单位", "处置情况"],
        rows: [["公安局网安支队", "已处置"], ["宣传部", .empty]])
    /// The first table's name again, in another table: the workbook must rename it.
    static let repeated = Table(name: "网络舆情日报告表", header: ["说明"], rows: [["重名的表"]])

    // MARK: - Read back independently

    /// What the Python script reads: per sheet its title, frozen cell, column widths and every
    /// cell as [type, value] with whether it is bold; the CSV's rows.
    struct Readback: Decodable {
        struct Sheet: Decodable {
            var title: String
            var frozen: String?
            var widths: [Double?]
            var rows: [[[String]]]
            var bold: [[Bool]]
        }
        var zipError: String?
        var sheets: [Sheet]
        var csv: [[String]]
    }

    static let script = #"""
        import csv, json, sys, zipfile
        from openpyxl import load_workbook
        from openpyxl.utils import get_column_letter

        def tag(cell):
            v = cell.value
            if cell.data_type == 'f': return ['formula', str(v)]
            if v is None: return ['empty', '']
            if isinstance(v, bool): return ['bool', str(v)]
            if isinstance(v, int): return ['int', str(v)]
            if isinstance(v, float): return ['float', repr(v)]
            if isinstance(v, str): return ['str', v]
            return [type(v).__name__, str(v)]

        xlsx, csv_path = sys.argv[1], sys.argv[2]
        zip_error = zipfile.ZipFile(xlsx).testzip()
        wb = load_workbook(xlsx)
        sheets = []
        for ws in wb.worksheets:
            rows = list(ws.iter_rows())
            sheets.append({
                'title': ws.title,
                'frozen': ws.freeze_panes,
                'widths': [ws.column_dimensions[get_column_letter(i)].width for i in range(1, ws.max_column + 1)],
                'rows': [[tag(c) for c in row] for row in rows],
                'bold': [[bool(c.font.b) for c in row] for row in rows],
            })
        with open(csv_path, encoding='utf-8-sig', newline='') as f:
            csv_rows = list(csv.reader(f))
        print(json.dumps({'zipError': zip_error, 'sheets': sheets, 'csv': csv_rows}))
        """#

    @Test func excelFilesReadBackExactly() throws {
        let dir = try TempDir()
        let xlsxPath = dir.path("报表.xlsx"), csvPath = dir.path("报表.csv")
        let tables = [Self.report, Self.handling, Self.repeated]
        try XLSX.data(tables).write(to: URL(fileURLWithPath: xlsxPath))
        let csv = CSV.data(Self.report)
        try csv.write(to: URL(fileURLWithPath: csvPath))

        let python = try Self.toolsBin.get().appendingPathComponent("python").path
        let json = try Self.run(python, ["-c", Self.script, xlsxPath, csvPath])
        let back = try JSONDecoder().decode(Readback.self, from: Data(json.utf8))

        // The ZIP's checksums hold, and the sheets are named by Excel's rules.
        #expect(back.zipError == nil)
        #expect(back.sheets.map(\.title) == ["网络舆情日报告表", "处置情况登记表 2024_05 _草稿_", "网络舆情日报告表 (2)"])

        for (table, sheet) in zip(tables, back.sheets) {
            let width = table.header.count
            // Every cell as openpyxl reads it: numbers as int or float, text as the same string.
            let expected = [table.header.map { ["str", $0] }] + table.rows.map { $0.map(Self.expectedXLSX) }
            #expect(sheet.rows.count == expected.count, "sheet \(sheet.title)")
            for (got, want) in zip(sheet.rows, expected) {
                #expect(got.count == width)
                for (g, w) in zip(got, want) where g != w {
                    // Floats compare as numbers: repr may spell them differently.
                    let sameFloat = g.first == "float" && w.first == "float" && Double(g[1]) == Double(w[1])
                    #expect(sameFloat, "sheet \(sheet.title): got \(g), want \(w)")
                }
            }
            // The header row, and only it, is bold and frozen.
            #expect(sheet.bold.first == Array(repeating: true, count: width))
            #expect(sheet.bold.dropFirst().allSatisfy { $0.allSatisfy { !$0 } })
            #expect(sheet.frozen == "A2")
        }
        // The formula-looking text stays text.
        #expect(back.sheets[0].rows[1][5] == ["str", "=1+1"])
        // Columns are as wide as their content: Chinese text is wider than short numbers.
        let widths = back.sheets[0].widths.map { $0 ?? 0 }
        #expect(widths[1] > widths[3] && widths[3] > 0, "widths \(widths)")
        #expect(widths.allSatisfy { $0 <= 60 })

        // CSV: a BOM, CRLF ends, the same cells, formula-looking text behind an apostrophe.
        #expect(csv.starts(with: [0xEF, 0xBB, 0xBF]))
        let text = String(decoding: csv, as: UTF8.self)
        #expect(text.hasSuffix("\r\n"))
        #expect(text.contains("备注\r\n1,"))
        let expectedCSV = [Self.report.header] + Self.report.rows.map { $0.map(Self.expectedCSV) }
        #expect(back.csv == expectedCSV)
        #expect(back.csv[1][5] == "'=1+1")
        #expect(back.csv[3][2] == "'@官方账号")
        #expect(back.csv[4][4] == "0.0000001")
    }

    static func expectedXLSX(_ cell: Cell) -> [String] {
        switch cell {
        case .text(let text): ["str", text]
        case .integer(let value) where value.magnitude > 999_999_999_999_999: ["str", String(value)]  // Excel keeps 15 digits
        case .integer(let value): ["int", String(value)]
        case .number(let value): ["float", "\(value)"]
        case .empty: ["empty", ""]
        }
    }

    static func expectedCSV(_ cell: Cell) -> String {
        switch cell {
        case .text(let text) where ["=", "+", "-", "@", "\t", "\r"].contains(text.first.map(String.init)): "'" + text
        case .text(let text): text
        case .integer(let value): String(value)
        case .number(let value): Cell.plain(value)  // pinned by numbersArePlain
        case .empty: ""
        }
    }

    // MARK: - The writers' rules, byte for byte

    @Test func csvQuotesAndGuards() {
        let table = Table(name: "t", header: ["a", "=b"], rows: [
            ["x,y", "say \"hi\""], ["line\nbreak", "cr\rhere"], [-1, 2.5], ["-1", .empty], ["\tindent", "ok"],
        ])
        let expected = "\u{FEFF}a,'=b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n\"line\nbreak\",\"cr\rhere\"\r\n-1,2.5\r\n'-1,\r\n'\tindent,ok\r\n"
        #expect(CSV.data(table) == Data(expected.utf8))
    }

    @Test func numbersArePlain() {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (2, "2"), (-2.5, "-2.5"), (0.1, "0.1"), (100, "100"), (1e-7, "0.0000001"),
            (1234.5678, "1234.5678"), (1e16, "10000000000000000"), (1.2345e17, "123450000000000000"),
            (1e-15, "0.000000000000001"), (1e21, "1E+21"), (1.5e300, "1.5E+300"), (2.5e-300, "2.5E-300"),
            (.infinity, "Infinity"), (-.infinity, "-Infinity"), (.nan, "NaN"),
        ]
        for (value, text) in cases {
            #expect(Cell.number(value).text == text, "\(value)")
        }
        #expect(Cell.integer(.min).text == "-9223372036854775808")
        #expect(Cell.empty.text == "")
    }

    @Test func sheetNamesFollowExcelRules() {
        let names = XLSX.sheetNames([
            "a:b\\c/d?e*f[g]h", "", "Report", "REPORT", "report", "'quoted'", "History",
            String(repeating: "长", count: 40), String(repeating: "长", count: 40), "tab\there",
        ])
        #expect(names == [
            "a_b_c_d_e_f_g_h", "Sheet2", "Report", "REPORT (2)", "report (3)", "quoted", "History (2)",
            String(repeating: "长", count: 31), String(repeating: "长", count: 27) + " (2)", "tabhere",
        ])
    }

    @Test func xmlTextIsEscaped() {
        #expect(XLSX.escaped("a & b < c > d \"e\"\u{1}\u{B}\r\n\t") == "a &amp; b &lt; c &gt; d &quot;e&quot;&#13;\n\t")
        #expect(XLSX.excelLiteral("_x0041_ and _x41_ and _xZZZZ_") == "_x005F_x0041_ and _x41_ and _xZZZZ_")
        #expect(XLSX.columnName(0) == "A" && XLSX.columnName(25) == "Z" && XLSX.columnName(26) == "AA" && XLSX.columnName(16_383) == "XFD")
        #expect(XLSX.displayWidth("ab网络") == 6)
    }

    @Test func workbooksAreDeterministicAndRefuseWhatExcelCannotHold() throws {
        let tables = [Self.report, Self.handling]
        #expect(try XLSX.data(tables) == XLSX.data(tables))
        #expect(throws: OfficeError.self) { try XLSX.data([]) }
        let wide = Table(name: "wide", header: Array(repeating: "h", count: XLSX.maxColumns + 1), rows: [])
        let error = #expect(throws: OfficeError.self) { try XLSX.data([wide]) }
        #expect(error?.code == .tooLarge)
    }

    @Test func zipRefusesDuplicatesAndRoundTripsThroughPython() throws {
        var zip = ZipWriter()
        try zip.add(path: "a/文件.txt", data: Data("网络".utf8))
        try zip.add(path: "empty", data: Data())
        try zip.add(path: "big", data: Data(repeating: 65, count: 100_000))
        #expect(throws: OfficeError.self) { try zip.add(path: "big", data: Data()) }
        let archive = try zip.finish()
        // The 100,000 repeated bytes are deflated.
        #expect(archive.count < 2_000)

        let dir = try TempDir()
        try archive.write(to: URL(fileURLWithPath: dir.path("t.zip")))
        let python = try Self.toolsBin.get().appendingPathComponent("python").path
        let listing = try Self.run(python, ["-c", """
            import sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            for i in z.infolist():
                print(i.filename, len(z.read(i)), i.date_time[:3], i.flag_bits & 0x800)
            """, dir.path("t.zip")])
        #expect(listing == "a/文件.txt 6 (1980, 1, 1) 2048\nempty 0 (1980, 1, 1) 2048\nbig 100000 (1980, 1, 1) 2048\n")
    }

    // MARK: - Python

    /// The bin directory of the tools venv, made once for all tests.
    static let toolsBin: Result<URL, any Error> = Result {
        let root = try repositoryRoot()
        let output = try run("/bin/bash", [root.appendingPathComponent("scripts/tools.sh").path], in: root)
        guard let bin = output.split(separator: "\n").last.map(String.init), !bin.isEmpty else {
            throw Failure("scripts/tools.sh printed no bin directory")
        }
        return URL(fileURLWithPath: bin)
    }

    /// The repository holding this file, or `YUQING_REPO_ROOT` when this file is elsewhere.
    static func repositoryRoot() throws -> URL {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for root in [here, ProcessInfo.processInfo.environment["YUQING_REPO_ROOT"].map(URL.init(fileURLWithPath:))].compactMap({ $0 })
        where FileManager.default.fileExists(atPath: root.appendingPathComponent("scripts/tools.sh").path) {
            return root
        }
        throw Failure("no scripts/tools.sh above \(#filePath); set YUQING_REPO_ROOT")
    }

    /// Runs `executable` and returns its standard output; its standard error goes to the test's.
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure("\(executable) \(arguments.dropFirst(arguments.first == "-c" ? 2 : 0)) exited with \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
