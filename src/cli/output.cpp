#include "cli/output.h"

#include <algorithm>
#include <string_view>

namespace mica::cli {

namespace {

// Display width of UTF-8 text, counting each code point as one column (good enough for
// names; East Asian wide characters are rare in certificate fields).
std::size_t Width(std::string_view s) {
  std::size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

// Appends `s` cut to `max` columns (the first max - 1 code points and "…" when longer);
// returns the columns appended.
std::size_t AppendTruncated(std::string& out, std::string_view s, std::size_t max) {
  const std::size_t width = Width(s);
  if (width <= max) {
    out.append(s);
    return width;
  }
  std::size_t end = 0, w = 0;
  for (; end < s.size(); ++end) {
    if ((static_cast<unsigned char>(s[end]) & 0xC0) != 0x80) {
      if (w + 1 == max) break;
      ++w;
    }
  }
  out.append(s.substr(0, end)).append("…");
  return w + 1;
}

}  // namespace

void PrintTableRows(std::ostream& out, const std::vector<std::string_view>& columns,
                    std::size_t rows, const RowCells& row, std::size_t max_width) {
  std::vector<std::size_t> widths(columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) widths[i] = Width(columns[i]);
  std::vector<std::string_view> cells;
  for (std::size_t r = 0; r < rows; ++r) {
    cells.clear();
    row(r, cells);
    for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], std::min(Width(cells[i]), max_width));
  }
  std::string buf;  // written out in 64 KiB pieces: a table can have 100,000+ rows
  auto line = [&](const std::vector<std::string_view>& line_cells) {
    const std::size_t start = buf.size();
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::size_t w =
          i < line_cells.size() ? AppendTruncated(buf, line_cells[i], max_width) : 0;
      if (i + 1 < widths.size()) buf.append(widths[i] - w + 2, ' ');
    }
    while (buf.size() > start && buf.back() == ' ') buf.pop_back();
    buf.push_back('\n');
    if (buf.size() >= (1u << 16)) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  };
  line(columns);
  for (std::size_t r = 0; r < rows; ++r) {
    cells.clear();
    row(r, cells);
    line(cells);
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
}

void PrintTable(std::ostream& out, const Table& t, std::size_t max_width) {
  const std::vector<std::string_view> columns(t.columns.begin(), t.columns.end());
  PrintTableRows(
      out, columns, t.rows.size(),
      [&](std::size_t r, std::vector<std::string_view>& cells) {
        cells.assign(t.rows[r].begin(), t.rows[r].end());
      },
      max_width);
}

std::string CsvEscape(const std::string& cell) {
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void PrintCsv(std::ostream& out, const Table& t) {
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) out << ',';
      out << CsvEscape(cells[i]);
    }
    out << "\r\n";
  };
  line(t.columns);
  for (const auto& row : t.rows) line(row);
}

}  // namespace mica::cli
