#include "discover/targets.h"

#include <set>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "fixtures.h"

namespace mica::discover {
namespace {

using mica::testing::TempDir;
using mica::testing::WriteFile;

std::vector<std::string> All(TargetStream& s) {
  std::vector<std::string> out;
  for (int guard = 0; guard < 100000; ++guard) {
    auto e = s.Next();
    if (!e) break;
    out.push_back(e->ToString());
  }
  return out;
}

TEST(TargetsTest, ParsesEveryTargetForm) {
  auto t = TargetSpec::Parse("Example.COM");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TargetSpec::Kind::kName);
  EXPECT_EQ(t->name, "example.com");
  EXPECT_FALSE(t->port);

  t = TargetSpec::Parse("example.com:8443");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t->port, 8443);

  t = TargetSpec::Parse("127.0.0.1:443");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TargetSpec::Kind::kAddress);
  EXPECT_EQ(t->cidr.base.ToString(), "127.0.0.1");

  t = TargetSpec::Parse("::1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TargetSpec::Kind::kAddress);
  EXPECT_FALSE(t->port);

  t = TargetSpec::Parse("[::1]:8443");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->cidr.base.ToString(), "::1");
  EXPECT_EQ(*t->port, 8443);

  t = TargetSpec::Parse("10.1.2.3/24");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TargetSpec::Kind::kCidr);
  EXPECT_EQ(t->cidr.ToString(), "10.1.2.0/24");

  t = TargetSpec::Parse("2001:db8::/120");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->cidr.Size(), 256u);
}

TEST(TargetsTest, RejectsMalformedTargetsNamingThem) {
  for (const char* bad : {"", "https://example.com", "host:0", "host:70000", "host:x", "[::1",
                          "[::1]x", "[example.com]:443", "10.0.0.0/33", "bad name", "a..b",
                          "10.0.0.0/7", "2001:db8::/64"}) {
    auto t = TargetSpec::Parse(bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(t.error().message.find(std::string("'") + bad + "'"), std::string::npos)
        << t.error().message;
  }
}

TEST(TargetsTest, ParsesPortListsAndRanges) {
  auto p = ParsePorts("443, 8000-8002,443");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<int>{443, 8000, 8001, 8002}));
  EXPECT_FALSE(ParsePorts("9-1"));
  EXPECT_FALSE(ParsePorts("http"));
  EXPECT_FALSE(ParsePorts(""));
}

TEST(TargetsTest, EveryPortOnceInFirstSeenOrder) {
  // The whole range, overlapping ranges and repeats: each port once, where it first
  // appeared (the fuzzer found the old duplicate search quadratic on 1-65535).
  auto all = ParsePorts("8443,1-65535,443,100-200");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 65535u);
  EXPECT_EQ(all->front(), 8443);
  EXPECT_EQ((*all)[1], 1);
  EXPECT_EQ(all->back(), 65535);
  EXPECT_EQ(std::count(all->begin(), all->end(), 443), 1);
}

TEST(TargetsTest, CidrContainsAndExcludes) {
  auto c = Cidr::Parse("192.168.1.77/26");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->ToString(), "192.168.1.64/26");
  EXPECT_TRUE(c->Contains(*IpAddress::Parse("192.168.1.127")));
  EXPECT_FALSE(c->Contains(*IpAddress::Parse("192.168.1.128")));
  EXPECT_FALSE(c->Contains(*IpAddress::Parse("::1")));
  ExcludeList ex;
  ASSERT_TRUE(ex.Add("fe80::/10"));
  EXPECT_TRUE(ex.Contains(*IpAddress::Parse("fe80::1")));
  EXPECT_FALSE(ex.Contains(*IpAddress::Parse("fec0::1")));
  EXPECT_FALSE(ex.Add("300.1.1.1"));
}

TEST(TargetsTest, ExcludeListAgreesWithCheckingEveryRange) {
  // Nested, adjacent, duplicate and disjoint ranges of both families, in random order,
  // against the plain "any range contains it" answer for addresses around them.
  std::mt19937 rng(7);
  std::vector<Cidr> ranges;
  ExcludeList ex;
  for (int i = 0; i < 300; ++i) {
    std::string text;
    if (rng() % 4 == 0) {
      text = "2001:db8::" + std::to_string(rng() % 4096) + "/" + std::to_string(112 + rng() % 17);
    } else {
      text = "10." + std::to_string(rng() % 4) + "." + std::to_string(rng() % 256) + "." +
             std::to_string(rng() % 256) + "/" + std::to_string(16 + rng() % 17);
    }
    auto c = Cidr::Parse(text);
    ASSERT_TRUE(c) << text;
    ranges.push_back(*c);
    ASSERT_TRUE(ex.Add(text));
  }
  for (int i = 0; i < 20000; ++i) {
    std::string text = rng() % 4 == 0 ? "2001:db8::" + std::to_string(rng() % 8192)
                                      : "10." + std::to_string(rng() % 5) + "." +
                                            std::to_string(rng() % 256) + "." +
                                            std::to_string(rng() % 256);
    auto a = IpAddress::Parse(text);
    ASSERT_TRUE(a) << text;
    const bool expected =
        std::any_of(ranges.begin(), ranges.end(), [&](const Cidr& c) { return c.Contains(*a); });
    ASSERT_EQ(ex.Contains(*a), expected) << text;
  }
}

TEST(TargetsTest, StreamExpandsCidrsPortsAndSniInOrderSkippingExcluded) {
  ExcludeList ex;
  ASSERT_TRUE(ex.Add("127.0.0.2/32"));
  TargetOptions o;
  o.targets = {"127.0.0.0/30", "localhost:99", "[::1]:5"};
  o.ports = {1, 2};
  auto s = TargetStream::Open(o, &ex);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ((*s)->total(), 4u * 2 + 1 + 1);
  auto all = All(**s);
  EXPECT_EQ(all, (std::vector<std::string>{"127.0.0.0:1", "127.0.0.0:2", "127.0.0.1:1",
                                           "127.0.0.1:2", "127.0.0.3:1", "127.0.0.3:2",
                                           "localhost:99", "[::1]:5"}));
  EXPECT_EQ((*s)->excluded(), 2u);
}

TEST(TargetsTest, NamesAreTheirOwnSniUnlessSniIsGiven) {
  TargetOptions o;
  o.targets = {"a.test:1", "127.0.0.1:2"};
  auto s = TargetStream::Open(o, nullptr);
  ASSERT_TRUE(s);
  auto e = (*s)->Next();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->sni, "a.test");
  EXPECT_FALSE(e->address);
  e = (*s)->Next();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->sni, "");
  ASSERT_TRUE(e->address);

  o.sni = {"x.test", "y.test"};
  s = TargetStream::Open(o, nullptr);
  ASSERT_TRUE(s);
  EXPECT_EQ(All(**s), (std::vector<std::string>{"a.test:1 (sni x.test)", "a.test:1 (sni y.test)",
                                                "127.0.0.1:2 (sni x.test)",
                                                "127.0.0.1:2 (sni y.test)"}));
}

TEST(TargetsTest, TargetsFileIsValidatedUpFrontAndStreamed) {
  TempDir dir;
  WriteFile(dir / "t.txt", "# estate\n127.0.0.1:1  # one\n\n10.0.0.0/31:7\r\n");
  TargetOptions o;
  o.target_files = {dir / "t.txt"};
  auto s = TargetStream::Open(o, nullptr);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(All(**s), (std::vector<std::string>{"127.0.0.1:1", "10.0.0.0:7", "10.0.0.1:7"}));

  WriteFile(dir / "bad.txt", "127.0.0.1\nnot a target\n");
  o.target_files = {dir / "bad.txt"};
  s = TargetStream::Open(o, nullptr);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("bad.txt line 2"), std::string::npos) << s.error().message;

  o.target_files = {dir / "missing.txt"};
  s = TargetStream::Open(o, nullptr);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
}

TEST(TargetsTest, ExcludeFileNamesTheBadLine) {
  TempDir dir;
  WriteFile(dir / "ex.txt", "10.0.0.0/8\n# c\n::1\nfoo\n");
  ExcludeList ex;
  auto s = ex.AddFile(dir / "ex.txt");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("line 4"), std::string::npos) << s.error().message;
  EXPECT_TRUE(ex.Contains(*IpAddress::Parse("10.9.9.9")));
}

TEST(TargetsTest, LargeCidrStreamsWithoutMaterialising) {
  TargetOptions o;
  o.targets = {"10.0.0.0/8"};
  o.ports = {443};
  auto s = TargetStream::Open(o, nullptr);
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->total(), 1u << 24);
  std::set<std::string> first;
  for (int i = 0; i < 300; ++i) first.insert((*s)->Next()->host);
  EXPECT_EQ(first.size(), 300u);
  EXPECT_TRUE(first.count("10.0.1.43"));  // carries into the third byte
}

}  // namespace
}  // namespace mica::discover
