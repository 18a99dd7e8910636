#include "cli/config.h"

#include <gtest/gtest.h>

#include "cli/output.h"
#include "fixtures.h"

namespace mica::cli {
namespace {

using mica::testing::TempDir;
using mica::testing::WriteFile;

TEST(ConfigTest, MissingImplicitFileGivesDefaults) {
  auto c = LoadConfig("/nonexistent/mica.toml", /*required=*/false);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->db, "mica.db");
  EXPECT_EQ(c->expiry_window, 30 * 86400);
  EXPECT_TRUE(c->fs_roots.empty());
}

TEST(ConfigTest, MissingExplicitFileIsAnError) {
  auto c = LoadConfig("/nonexistent/mica.toml", /*required=*/true);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("/nonexistent/mica.toml"), std::string::npos);
}

TEST(ConfigTest, ReadsEverySetting) {
  TempDir d;
  WriteFile(d / "m.toml", R"(
[store]
db = "/var/lib/mica/inv.db"
[discover.fs]
roots = ["/srv", "/etc/ssl"]
exclude = ["*/node_modules"]
max_file_size = "1MiB"
cross_filesystems = true
threads = 3
pkcs12_passwords_file = "/etc/mica/p12.txt"
[summary]
expiry_window = "14d"
)");
  auto c = LoadConfig(d / "m.toml", true);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->db, "/var/lib/mica/inv.db");
  EXPECT_EQ(c->fs_roots, (std::vector<std::string>{"/srv", "/etc/ssl"}));
  EXPECT_EQ(c->fs_exclude, (std::vector<std::string>{"*/node_modules"}));
  EXPECT_EQ(c->fs_max_file_size, 1 << 20);
  EXPECT_TRUE(c->fs_cross_filesystems);
  EXPECT_EQ(c->fs_threads, 3);
  EXPECT_EQ(c->pkcs12_passwords_file, "/etc/mica/p12.txt");
  EXPECT_EQ(c->expiry_window, 14 * 86400);
}

TEST(ConfigTest, UnknownKeysAndWrongTypesNameFileLineAndColumn) {
  TempDir d;
  WriteFile(d / "a.toml", "[discover.fs]\nrootz = [\"/x\"]\n");
  auto c = LoadConfig(d / "a.toml", true);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find(d / "a.toml:2:1"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("discover.fs.rootz"), std::string::npos);

  WriteFile(d / "b.toml", "[discover.fs]\nthreads = \"many\"\n");
  c = LoadConfig(d / "b.toml", true);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find(d / "b.toml:2:"), std::string::npos) << c.error().message;

  WriteFile(d / "c.toml", "[nosuch]\nx = 1\n");
  c = LoadConfig(d / "c.toml", true);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("[nosuch]"), std::string::npos);

  WriteFile(d / "d.toml", "[store\ndb = 1\n");
  c = LoadConfig(d / "d.toml", true);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kInput);
  EXPECT_NE(c.error().message.find(d / "d.toml:1:"), std::string::npos) << c.error().message;

  WriteFile(d / "e.toml", "[summary]\nexpiry_window = \"soon\"\n");
  c = LoadConfig(d / "e.toml", true);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("soon"), std::string::npos);
}

TEST(ConfigTest, ParsesSizes) {
  EXPECT_EQ(*ParseSize("4096"), 4096);
  EXPECT_EQ(*ParseSize("512KiB"), 512 * 1024);
  EXPECT_EQ(*ParseSize("8MiB"), 8 << 20);
  EXPECT_EQ(*ParseSize("1GiB"), 1LL << 30);
  EXPECT_FALSE(ParseSize("lots").has_value());
  EXPECT_FALSE(ParseSize("5 MiB").has_value());
  EXPECT_FALSE(ParseSize("99999999999999999GiB").has_value());
}

TEST(OutputTest, CsvQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(CsvEscape("plain"), "plain");
  EXPECT_EQ(CsvEscape("CN=a,O=b"), "\"CN=a,O=b\"");
  EXPECT_EQ(CsvEscape("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvEscape("two\nlines"), "\"two\nlines\"");
}

TEST(OutputTest, TableTruncatesLongCellsOnCodePoints) {
  Table t;
  t.columns = {"name", "n"};
  t.rows = {{"Ünïcödé-naïve-string", "1"}};
  std::ostringstream out;
  PrintTable(out, t, 8);
  EXPECT_EQ(out.str(), "name      n\nÜnïcödé…  1\n");
}

}  // namespace
}  // namespace mica::cli
