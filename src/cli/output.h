// Printing lists: a readable table (default), one JSON document (--json), or CSV (--csv).
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mica::cli {

enum class OutputFormat { kTable, kJson, kCsv };

// A list of rows with fixed columns. Cells are plain strings; the JSON form is given
// separately by the caller (stable snake_case documents, see docs/JSON.md).
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

// Pads columns to their widest cell (capped at `max_width`, longer cells end in "…").
void PrintTable(std::ostream& out, const Table& table, std::size_t max_width = 60);

// The same table from rows the caller lays out on demand, so a long list is printed
// from views of what it already holds instead of a Table of copies. `row(r, cells)`
// fills `cells` (cleared by the caller) with row r's cells; they must stay valid until
// the next call. Rows are asked for twice: once to size the columns, once to print.
using RowCells = std::function<void(std::size_t, std::vector<std::string_view>&)>;
void PrintTableRows(std::ostream& out, const std::vector<std::string_view>& columns,
                    std::size_t rows, const RowCells& row, std::size_t max_width = 60);

// RFC 4180: a header line then one line per row; cells with , " CR or LF are quoted.
void PrintCsv(std::ostream& out, const Table& table);

std::string CsvEscape(const std::string& cell);

}  // namespace mica::cli
