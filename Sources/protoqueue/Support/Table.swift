/// A text table for people: a header row and left-aligned columns two spaces apart (numbers right-aligned).
struct Table {
    var header: [String]
    var rows: [[String]] = []
    /// Columns whose cells are numbers, right-aligned.
    var numeric: Set<Int> = []

    var text: String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return numeric.contains(column) ? pad + cell : cell + (column == row.count - 1 ? "" : pad)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
