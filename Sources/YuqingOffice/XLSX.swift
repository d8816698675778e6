import Foundation

/// Tables as an Excel workbook (Office Open XML, `.xlsx`), one worksheet per table.
///
/// Each sheet has its header row in bold and frozen, columns as wide as their content (CJK
/// characters count double, up to a cap), whole numbers and numbers as numeric cells and text as
/// shared strings: text is never a formula. The output depends only on the tables.
public enum XLSX {
    /// The workbook of `tables`, in order.
    ///
    /// Sheet names follow Excel's rules: `:\/?*[]` become `_`, control characters and
    /// apostrophes at either end are dropped, names are cut to 31 characters, an empty name
    /// becomes `SheetN`, and a name already taken (ignoring case) gets ` (2)`, ` (3)`…
    /// Characters XML 1.0 cannot carry (control characters other than tab, LF, CR) are
    /// dropped; text is cut to Excel's 32,767 characters a cell, and empty text makes no cell;
    /// integers beyond 15 digits, which Excel would round, and numbers that are not finite are
    /// written as text.
    ///
    /// - Throws: ``OfficeError`` when `tables` is empty, a sheet exceeds Excel's 1,048,576 rows
    ///   or 16,384 columns, or the workbook exceeds 4 GiB.
    public static func data(_ tables: [Table]) throws -> Data {
        guard !tables.isEmpty else { throw OfficeError(.input, "a workbook needs at least one table", zh: "工作簿至少需要一张表") }
        for table in tables {
            let rows = table.rows.count + 1, columns = ([table.header.count] + table.rows.map(\.count)).max()!
            guard rows <= maxRows, columns <= maxColumns else {
                throw OfficeError(.tooLarge, "table '\(table.name)' has \(rows) rows and \(columns) columns; "
                                  + "an Excel sheet holds \(maxRows) rows and \(maxColumns) columns",
                                  zh: "表“\(table.name)”有 \(rows) 行、\(columns) 列；Excel 工作表最多容纳 \(maxRows) 行、\(maxColumns) 列")
            }
        }
        let names = sheetNames(tables.map(\.name))
        var strings = SharedStrings()
        let sheets = tables.enumerated().map { index, table in worksheet(table, selected: index == 0, strings: &strings) }

        var zip = ZipWriter()
        try zip.add(path: "[Content_Types].xml", data: xml(contentTypes(sheetCount: tables.count)))
        try zip.add(path: "_rels/.rels", data: xml(packageRelationships))
        try zip.add(path: "docProps/app.xml", data: xml(appProperties))
        try zip.add(path: "docProps/core.xml", data: xml(coreProperties))
        try zip.add(path: "xl/workbook.xml", data: xml(workbook(names)))
        try zip.add(path: "xl/_rels/workbook.xml.rels", data: xml(workbookRelationships(sheetCount: tables.count)))
        try zip.add(path: "xl/styles.xml", data: xml(styles))
        try zip.add(path: "xl/sharedStrings.xml", data: xml(strings.xml))
        for (index, sheet) in sheets.enumerated() {
            try zip.add(path: "xl/worksheets/sheet\(index + 1).xml", data: xml(sheet))
        }
        return try zip.finish()
    }

    static let maxRows = 1_048_576
    static let maxColumns = 16_384
    /// Excel's limit on the characters (UTF-16 code units) of a cell.
    static let maxCellText = 32_767
    /// Integers with more digits than Excel keeps (15) are written as text.
    static let largestExactInteger: Int64 = 999_999_999_999_999

    // MARK: - Sheet names

    /// `names` made valid and unique as Excel sheet names, in order.
    static func sheetNames(_ names: [String]) -> [String] {
        var taken: Set<String> = ["history"]  // Excel reserves "History"
        return names.enumerated().map { index, name in
            let kept = xmlLegal(name).unicodeScalars.filter { $0.value >= 0x20 }
            var base = String(String.UnicodeScalarView(kept.map { ":\\/?*[]".unicodeScalars.contains($0) ? "_" : $0 }))
            // Excel refuses an apostrophe at either end.
            while base.hasPrefix("'") { base.removeFirst() }
            while base.hasSuffix("'") { base.removeLast() }
            if base.trimmingCharacters(in: .whitespaces).isEmpty { base = "Sheet\(index + 1)" }
            var candidate = truncated(base, to: 31)
            var number = 2
            while taken.contains(candidate.lowercased()) {
                let suffix = " (\(number))"
                candidate = truncated(base, to: 31 - suffix.utf16.count) + suffix
                number += 1
            }
            taken.insert(candidate.lowercased())
            return candidate
        }
    }

    /// `text` cut to at most `limit` UTF-16 code units, between characters.
    static func truncated(_ text: String, to limit: Int) -> String {
        guard text.utf16.count > limit else { return text }
        var count = 0
        return String(text.prefix { count += $0.utf16.count; return count <= limit })
    }

    // MARK: - XML text

    /// `text` without the characters XML 1.0 forbids: controls other than tab, LF and CR, and
    /// U+FFFE, U+FFFF.
    static func xmlLegal(_ text: String) -> String {
        func legal(_ s: Unicode.Scalar) -> Bool {
            s.value >= 0x20 ? s.value != 0xFFFE && s.value != 0xFFFF : s == "\t" || s == "\n" || s == "\r"
        }
        guard !text.unicodeScalars.allSatisfy(legal) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.filter(legal)))
    }

    /// `text` escaped for XML content or an attribute value (quoted with `"`). CR is written as
    /// a character reference so that XML parsing does not turn it into LF.
    package static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in xmlLegal(text).unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Cell text as Excel reads it back unchanged: Excel decodes `_xHHHH_` in cell text as the
    /// character U+HHHH, so the `_` that starts such a sequence is itself written `_x005F_`.
    static func excelLiteral(_ text: String) -> String {
        guard text.contains("_x") else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (i, scalar) in scalars.enumerated() {
            if scalar == "_", i + 6 < scalars.count, scalars[i + 1] == "x", scalars[i + 6] == "_",
               scalars[(i + 2)...(i + 5)].allSatisfy({ $0.properties.isASCIIHexDigit }) {
                out.append(contentsOf: "_x005F".unicodeScalars)
            }
            out.append(scalar)
        }
        return String(out)
    }

    private static func xml(_ body: String) -> Data {
        Data(("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n" + body).utf8)
    }

    // MARK: - Worksheets

    /// The workbook's strings, each stored once and referred to by index.
    struct SharedStrings {
        private(set) var strings: [String] = []
        private var indices: [String: Int] = [:]
        private(set) var references = 0

        /// The index of `text`, added if new.
        mutating func index(_ text: String) -> Int {
            references += 1
            if let index = indices[text] { return index }
            strings.append(text)
            indices[text] = strings.count - 1
            return strings.count - 1
        }

        var xml: String {
            var out = "<sst xmlns=\"\(XLSX.mainNamespace)\" count=\"\(references)\" uniqueCount=\"\(strings.count)\">"
            for text in strings {
                let preserve = text.first.map(\.isWhitespace) == true || text.last.map(\.isWhitespace) == true
                    || text.contains("\n") || text.contains("\t") || text.contains("\r")
                out += preserve ? "<si><t xml:space=\"preserve\">" : "<si><t>"
                out += XLSX.escaped(XLSX.excelLiteral(text))
                out += "</t></si>"
            }
            return out + "</sst>"
        }
    }

    static func worksheet(_ table: Table, selected: Bool, strings: inout SharedStrings) -> String {
        let rows: [[Cell]] = [table.header.map { .text($0) }] + table.rows
        let columnCount = rows.map(\.count).max() ?? 0
        let lastCell = columnCount == 0 ? "A1" : "\(columnName(columnCount - 1))\(rows.count)"

        var out = "<worksheet xmlns=\"\(mainNamespace)\" xmlns:r=\"\(relationshipNamespace)\">"
        out += "<dimension ref=\"\(lastCell == "A1" ? "A1" : "A1:" + lastCell)\"/>"
        out += "<sheetViews><sheetView\(selected ? " tabSelected=\"1\"" : "") workbookViewId=\"0\">"
        out += "<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>"
        out += "<selection pane=\"bottomLeft\" activeCell=\"A2\" sqref=\"A2\"/>"
        out += "</sheetView></sheetViews>"
        out += "<sheetFormatPr defaultRowHeight=\"15\"/>"
        if columnCount > 0 {
            out += "<cols>"
            for (index, width) in columnWidths(rows, count: columnCount).enumerated() {
                out += "<col min=\"\(index + 1)\" max=\"\(index + 1)\" width=\"\(width)\" customWidth=\"1\"/>"
            }
            out += "</cols>"
        }
        out += "<sheetData>"
        for (r, row) in rows.enumerated() {
            out += "<row r=\"\(r + 1)\">"
            let style = r == 0 ? " s=\"1\"" : ""
            for (c, cell) in row.enumerated() {
                let ref = "\(columnName(c))\(r + 1)"
                switch cell {
                case .empty, .text(""):
                    continue
                case .text(let text):
                    let index = strings.index(truncated(xmlLegal(text), to: maxCellText))
                    out += "<c r=\"\(ref)\"\(style) t=\"s\"><v>\(index)</v></c>"
                case .integer(let value) where value.magnitude > largestExactInteger.magnitude:
                    out += "<c r=\"\(ref)\"\(style) t=\"s\"><v>\(strings.index(String(value)))</v></c>"
                case .number(let value) where !value.isFinite:
                    out += "<c r=\"\(ref)\"\(style) t=\"s\"><v>\(strings.index(cell.text))</v></c>"
                case .integer, .number:
                    out += "<c r=\"\(ref)\"\(style)><v>\(cell.text)</v></c>"
                }
            }
            out += "</row>"
        }
        return out + "</sheetData></worksheet>"
    }

    /// The column letters of the zero-based column `index`: A, …, Z, AA, …
    static func columnName(_ index: Int) -> String {
        var n = index + 1
        var letters: [Character] = []
        while n > 0 {
            let digit = (n - 1) % 26
            letters.insert(Character(Unicode.Scalar(UInt8(65 + digit))), at: 0)
            n = (n - 1) / 26
        }
        return String(letters)
    }

    /// Widths in Excel's units (about one Latin character): the longest line in the column,
    /// wide characters counting two, plus a margin, between 8 and 60.
    static func columnWidths(_ rows: [[Cell]], count: Int) -> [Int] {
        var widths = [Int](repeating: 0, count: count)
        for row in rows {
            for (c, cell) in row.enumerated() {
                let lines = cell.text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                let longest = lines.map { displayWidth($0) }.max() ?? 0
                widths[c] = max(widths[c], longest)
            }
        }
        return widths.map { min(max($0 + 2, 8), 60) }
    }

    /// How many Latin character widths `text` takes: two for East Asian wide and fullwidth
    /// characters (CJK, kana, Hangul, fullwidth forms), one for others.
    static func displayWidth(_ text: Substring) -> Int {
        text.unicodeScalars.reduce(0) { sum, scalar in
            switch scalar.value {
            case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
                 0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
                 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
                sum + 2
            case 0x0300...0x036F, 0x200B...0x200F, 0xFE00...0xFE0F:
                sum  // combining marks, zero-width characters, variation selectors
            default:
                sum + 1
            }
        }
    }

    // MARK: - Package parts

    static let mainNamespace = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    static let relationshipNamespace = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    private static let packageRelationshipNamespace = "http://schemas.openxmlformats.org/package/2006/relationships"

    private static func contentTypes(sheetCount: Int) -> String {
        let office = "application/vnd.openxmlformats-officedocument"
        var out = "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
        out += "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
        out += "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
        out += "<Override PartName=\"/xl/workbook.xml\" ContentType=\"\(office).spreadsheetml.sheet.main+xml\"/>"
        for n in 1...sheetCount {
            out += "<Override PartName=\"/xl/worksheets/sheet\(n).xml\" ContentType=\"\(office).spreadsheetml.worksheet+xml\"/>"
        }
        out += "<Override PartName=\"/xl/styles.xml\" ContentType=\"\(office).spreadsheetml.styles+xml\"/>"
        out += "<Override PartName=\"/xl/sharedStrings.xml\" ContentType=\"\(office).spreadsheetml.sharedStrings+xml\"/>"
        out += "<Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>"
        out += "<Override PartName=\"/docProps/app.xml\" ContentType=\"\(office).extended-properties+xml\"/>"
        return out + "</Types>"
    }

    private static let packageRelationships = """
        <Relationships xmlns="\(packageRelationshipNamespace)">\
        <Relationship Id="rId1" Type="\(relationshipNamespace)/officeDocument" Target="xl/workbook.xml"/>\
        <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" \
        Target="docProps/core.xml"/>\
        <Relationship Id="rId3" Type="\(relationshipNamespace)/extended-properties" Target="docProps/app.xml"/>\
        </Relationships>
        """

    private static let appProperties = """
        <Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">\
        <Application>Yuqing</Application></Properties>
        """

    private static let coreProperties = """
        <cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" \
        xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Yuqing</dc:creator></cp:coreProperties>
        """

    private static func workbook(_ names: [String]) -> String {
        var out = "<workbook xmlns=\"\(mainNamespace)\" xmlns:r=\"\(relationshipNamespace)\">"
        out += "<bookViews><workbookView activeTab=\"0\"/></bookViews><sheets>"
        for (index, name) in names.enumerated() {
            out += "<sheet name=\"\(escaped(name))\" sheetId=\"\(index + 1)\" r:id=\"rId\(index + 1)\"/>"
        }
        return out + "</sheets></workbook>"
    }

    private static func workbookRelationships(sheetCount: Int) -> String {
        var out = "<Relationships xmlns=\"\(packageRelationshipNamespace)\">"
        for n in 1...sheetCount {
            out += "<Relationship Id=\"rId\(n)\" Type=\"\(relationshipNamespace)/worksheet\" Target=\"worksheets/sheet\(n).xml\"/>"
        }
        out += "<Relationship Id=\"rId\(sheetCount + 1)\" Type=\"\(relationshipNamespace)/styles\" Target=\"styles.xml\"/>"
        out += "<Relationship Id=\"rId\(sheetCount + 2)\" Type=\"\(relationshipNamespace)/sharedStrings\" Target=\"sharedStrings.xml\"/>"
        return out + "</Relationships>"
    }

    /// Two cell formats: 0, the default, and 1, bold for the header row.
    private static let styles = """
        <styleSheet xmlns="\(mainNamespace)">\
        <fonts count="2">\
        <font><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
        <font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
        </fonts>\
        <fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
        <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
        <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
        <cellXfs count="2">\
        <xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
        <xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
        </cellXfs>\
        <cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
        </styleSheet>
        """
}
