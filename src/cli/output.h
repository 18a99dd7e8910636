// Printing lists: a readable table (default), one JSON document (--json), or CSV (--csv).
#pragma once

#include <ostream>
#include <string>
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

// RFC 4180: a header line then one line per row; cells with , " CR or LF are quoted.
void PrintCsv(std::ostream& out, const Table& table);

std::string CsvEscape(const std::string& cell);

}  // namespace mica::cli
