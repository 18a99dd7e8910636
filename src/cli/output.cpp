#include "cli/output.h"

#include <algorithm>

namespace mica::cli {

namespace {

// Display width of UTF-8 text, counting each code point as one column (good enough for
// names; East Asian wide characters are rare in certificate fields).
std::size_t Width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

std::string Truncate(const std::string& s, std::size_t max) {
  if (Width(s) <= max) return s;
  std::string out;
  std::size_t w = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (w + 1 == max) break;
      ++w;
    }
    out.push_back(s[i]);
  }
  return out + "…";
}

}  // namespace

void PrintTable(std::ostream& out, const Table& t, std::size_t max_width) {
  std::vector<std::size_t> widths(t.columns.size());
  for (std::size_t i = 0; i < t.columns.size(); ++i) widths[i] = Width(t.columns[i]);
  for (const auto& row : t.rows)
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], std::min(Width(row[i]), max_width));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < cells.size() ? Truncate(cells[i], max_width) : "";
      s += cell;
      if (i + 1 < widths.size()) s += std::string(widths[i] - Width(cell) + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  line(t.columns);
  for (const auto& row : t.rows) line(row);
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
