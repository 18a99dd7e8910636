#include "people/intel.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "fixtures.h"
#include "people/testing/mmdb_writer.h"

namespace mica::people {
namespace {

using mica::testing::TempDir;
using mica::testing::WriteFile;

testing::MmdbRecord Rec(std::string country, std::string city, double lat, double lon,
                        std::uint32_t asn = 0, std::string org = "") {
  testing::MmdbRecord r;
  r.country = std::move(country);
  r.city = std::move(city);
  r.lat = lat;
  r.lon = lon;
  r.asn = asn;
  r.asn_org = std::move(org);
  return r;
}

std::string TestMmdb() {
  testing::MmdbWriter w;
  EXPECT_TRUE(w.Add("198.51.100.0/24", Rec("US", "New York", 40.71, -74.0, 64500, "Example ISP")));
  EXPECT_TRUE(w.Add("203.0.113.0/25", Rec("KP", "Pyongyang", 39.03, 125.75)));
  EXPECT_TRUE(w.Add("2001:db8::/32", Rec("DE", "Berlin", 52.52, 13.40)));
  return w.Build("GeoLite2-City");
}

TEST(IntelTest, ParsesAddresses) {
  ASSERT_TRUE(ParseIp("192.0.2.1"));
  EXPECT_TRUE(ParseIp("192.0.2.1")->v4);
  EXPECT_TRUE(ParseIp("::ffff:192.0.2.1")->v4);
  EXPECT_EQ(ParseIp("::ffff:192.0.2.1")->bits, ParseIp("192.0.2.1")->bits);
  EXPECT_FALSE(ParseIp("2001:db8::1")->v4);
  EXPECT_FALSE(ParseIp("192.0.2.256"));
  EXPECT_FALSE(ParseIp("nonsense"));
  EXPECT_FALSE(ParseIp(""));
}

TEST(IntelTest, ListFormats) {
  auto l = ParseIntelList("# X4BNet vpn list\n10.0.0.0/8\n192.0.2.7\n2001:db8::/48\n", "vpn-x4b.txt",
                          "vpn");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->entries, 3);
  EXPECT_TRUE(l->Contains(*ParseIp("10.200.1.1")));
  EXPECT_TRUE(l->Contains(*ParseIp("192.0.2.7")));
  EXPECT_FALSE(l->Contains(*ParseIp("192.0.2.8")));
  EXPECT_TRUE(l->Contains(*ParseIp("2001:db8:0:1::5")));
  EXPECT_FALSE(l->Contains(*ParseIp("2001:db9::5")));

  auto tor = ParseIntelList(
      "ExitNode ABC\nPublished 2024-01-01 00:00:00\nExitAddress 185.220.101.4 2024-01-01 01:00:00\n",
      "tor-exits.txt", "tor");
  ASSERT_TRUE(tor) << tor.error().message;
  EXPECT_TRUE(tor->Contains(*ParseIp("185.220.101.4")));

  auto csv = ParseIntelList("start,end,name\n1.0.0.0,1.0.0.255,Some VPS\n5.6.7.0/24,OtherHost\n",
                            "hosting-ipcat.csv", "hosting");
  ASSERT_TRUE(csv) << csv.error().message;
  EXPECT_TRUE(csv->Contains(*ParseIp("1.0.0.128")));
  EXPECT_TRUE(csv->Contains(*ParseIp("5.6.7.8")));
  EXPECT_FALSE(csv->Contains(*ParseIp("1.0.1.0")));
}

TEST(IntelTest, CloudJson) {
  auto aws = ParseIntelList(
      R"({"syncToken":"1","prefixes":[{"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2"}],
          "ipv6_prefixes":[{"ipv6_prefix":"2600:1f00::/24"}]})",
      "cloud-aws.json", "hosting");
  ASSERT_TRUE(aws) << aws.error().message;
  EXPECT_TRUE(aws->Contains(*ParseIp("3.5.141.1")));
  EXPECT_TRUE(aws->Contains(*ParseIp("2600:1f00::1")));
  auto gcp = ParseIntelList(R"({"prefixes":[{"ipv4Prefix":"34.1.0.0/16"}]})", "cloud-gcp.json",
                            "hosting");
  ASSERT_TRUE(gcp);
  EXPECT_TRUE(gcp->Contains(*ParseIp("34.1.2.3")));
  auto azure = ParseIntelList(
      R"({"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["13.64.0.0/11"]}}]})",
      "cloud-azure.json", "hosting");
  ASSERT_TRUE(azure);
  EXPECT_TRUE(azure->Contains(*ParseIp("13.70.0.1")));
}

TEST(IntelTest, BadListNamesFileAndLine) {
  auto l = ParseIntelList("10.0.0.0/8\n10.0.0.0/33\n", "vpn-x.txt", "vpn");
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("vpn-x.txt:2"), std::string::npos) << l.error().message;
  auto j = ParseIntelList("{\"prefixes\": 3}", "cloud-aws.json", "hosting");
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message.find("cloud-aws.json"), std::string::npos);
  auto r = ParseIntelList("10.0.0.9,10.0.0.1\n", "vpn-r.csv", "vpn");
  EXPECT_FALSE(r);
}

TEST(IntelTest, CategoryFromFileName) {
  EXPECT_EQ(CategoryOfFile("vpn-x4bnet.txt"), "vpn");
  EXPECT_EQ(CategoryOfFile("datacenter_ipv4.txt"), "hosting");
  EXPECT_EQ(CategoryOfFile("Tor.txt"), "tor");
  EXPECT_EQ(CategoryOfFile("corporate.txt"), "corporate");
  EXPECT_FALSE(CategoryOfFile("directory.txt"));
}

TEST(IntelTest, LooksUpMmdbAndLists) {
  TempDir dir;
  WriteFile(dir / "GeoLite2-City.mmdb", TestMmdb());
  WriteFile(dir / "vpn-x4bnet.txt", "198.51.100.128/25\n");
  WriteFile(dir / "corporate.txt", "198.51.100.200\n");
  auto set = IntelSet::Load(dir.path());
  ASSERT_TRUE(set) << set.error().message;
  auto ny = set->Lookup("198.51.100.7");
  EXPECT_EQ(ny.country, "US");
  EXPECT_EQ(ny.city, "New York");
  EXPECT_TRUE(ny.has_geo);
  EXPECT_NEAR(ny.lat, 40.71, 1e-9);
  EXPECT_EQ(ny.asn, 64500);
  EXPECT_EQ(ny.asn_org, "Example ISP");
  EXPECT_EQ(ny.category, "");
  EXPECT_EQ(set->Lookup("198.51.100.130").Tag(), "vpn:vpn-x4bnet.txt");
  EXPECT_EQ(set->Lookup("198.51.100.200").category, "corporate");
  EXPECT_EQ(set->Lookup("203.0.113.5").country, "KP");
  EXPECT_EQ(set->Lookup("203.0.113.200").country, "");
  EXPECT_EQ(set->Lookup("2001:db8::1").city, "Berlin");
  EXPECT_EQ(set->Lookup("not-an-ip").country, "");
}

TEST(IntelTest, RejectsBadMmdbAndUnknownFiles) {
  TempDir dir;
  WriteFile(dir / "geo.mmdb", "not a database");
  auto set = IntelSet::Load(dir.path());
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("geo.mmdb"), std::string::npos);
  TempDir dir2;
  WriteFile(dir2 / "whatever.txt", "10.0.0.0/8\n");
  EXPECT_FALSE(IntelSet::Load(dir2.path()));
}

TEST(IntelTest, InstallSwapsAtomicallyAndKeepsOldSetOnError) {
  TempDir root, good, bad;
  WriteFile(good / "vpn-a.txt", "10.0.0.0/8\n");
  auto first = InstallIntelSet(good.path(), root / "intel", 100);
  ASSERT_TRUE(first) << first.error().message;
  auto active = ActiveIntelDir(root / "intel");
  ASSERT_FALSE(active.empty());
  auto set = IntelSet::Load(active);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->Lookup("10.1.1.1").category, "vpn");

  WriteFile(bad / "vpn-a.txt", "10.0.0.0/8\n");
  WriteFile(bad / "tor-b.txt", "300.1.1.1\n");
  auto second = InstallIntelSet(bad.path(), root / "intel", 200);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("tor-b.txt:1"), std::string::npos) << second.error().message;
  auto still = IntelSet::Load(ActiveIntelDir(root / "intel"));
  ASSERT_TRUE(still);
  EXPECT_EQ(still->Lookup("10.1.1.1").category, "vpn");
  ASSERT_EQ(still->files().size(), 1u);

  WriteFile(bad / "tor-b.txt", "185.220.101.4\n");
  ASSERT_TRUE(InstallIntelSet(bad.path(), root / "intel", 300));
  auto now = IntelSet::Load(ActiveIntelDir(root / "intel"));
  ASSERT_TRUE(now);
  EXPECT_EQ(now->Lookup("185.220.101.4").category, "tor");
}

TEST(IntelTest, Haversine) {
  // New York to London is about 5,570 km.
  EXPECT_NEAR(HaversineKm(40.71, -74.0, 51.51, -0.13), 5570, 30);
  EXPECT_NEAR(HaversineKm(1, 1, 1, 1), 0, 1e-9);
}

}  // namespace
}  // namespace mica::people
