#include "discover/fs_scan.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "fixtures.h"

namespace mica::discover {
namespace {

using mica::testing::MakeSelfSigned;
using mica::testing::ReadFile;
using mica::testing::Shell;
using mica::testing::TempDir;
using mica::testing::WriteFile;

// Everything a scan handed to its sink.
struct Collected {
  std::vector<store::Observation> observations;
  std::vector<store::ScanError> errors;

  const store::Observation* Find(const std::string& path) const {
    for (const auto& o : observations)
      if (o.location.path == path) return &o;
    return nullptr;
  }
  const store::ScanError* ErrorFor(const std::string& path_prefix) const {
    for (const auto& e : errors)
      if (e.where.rfind(path_prefix, 0) == 0) return &e;
    return nullptr;
  }
};

Collected Scan(FsScanOptions opts, store::ScanStats* stats_out = nullptr) {
  Collected c;
  opts.batch_files = 3;  // small batches exercise the hand-off between threads
  auto stats = ScanFilesystem(opts, [&](std::vector<store::Observation>&& o,
                                        std::vector<store::ScanError>&& e) {
    for (auto& x : o) c.observations.push_back(std::move(x));
    for (auto& x : e) c.errors.push_back(std::move(x));
    return Status{};
  });
  EXPECT_TRUE(stats.has_value());
  if (stats && stats_out) *stats_out = *stats;
  return c;
}

class FsScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MakeSelfSigned(dir_ / "server.crt", dir_ / "server.key", "server.example");
    std::filesystem::create_directories(dir_ / "a/b/c");
  }
  void CheckRewrittenFileNeverMixes(bool root_is_dir);
  TempDir dir_;
};

TEST_F(FsScanTest, FindsIdentitiesByContentNotByName) {
  // A certificate under a misleading name is found; a .pem that is not one is not.
  std::filesystem::copy_file(dir_ / "server.crt", dir_ / "a/b/c/notes.txt");
  WriteFile(dir_ / "a/fake.pem", "just some text, no armour\n");
  FsScanOptions opts;
  opts.roots = {dir_.path()};
  store::ScanStats stats;
  Collected c = Scan(opts, &stats);
  const auto* hidden = c.Find(dir_ / "a/b/c/notes.txt");
  ASSERT_NE(hidden, nullptr);
  ASSERT_EQ(hidden->identities.size(), 1u);
  EXPECT_EQ(hidden->identities[0].kind, x509::Kind::kCertificate);
  EXPECT_EQ(c.Find(dir_ / "a/fake.pem"), nullptr);
  const auto* key = c.Find(dir_ / "server.key");
  ASSERT_NE(key, nullptr);
  ASSERT_TRUE(key->file.has_value());
  EXPECT_EQ(key->file->mode & 0777, 0600u);  // openssl writes keys 0600
  EXPECT_EQ(stats.files_seen, 4);
  EXPECT_EQ(stats.candidates, 3);
}

TEST_F(FsScanTest, RecordsModeOwnerAndGroup) {
  ASSERT_EQ(::chmod((dir_ / "server.key").c_str(), 0644), 0);
  FsScanOptions opts;
  opts.roots = {dir_.path()};
  Collected c = Scan(opts);
  const auto* key = c.Find(dir_ / "server.key");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->file->mode & 0777, 0644u);
  EXPECT_EQ(key->file->uid, ::geteuid());
  EXPECT_FALSE(key->file->owner.empty());
  EXPECT_FALSE(key->location.host.empty());
}

TEST_F(FsScanTest, SymlinkLoopEndsAndSymlinkedFilesAreRead) {
  std::filesystem::create_directory_symlink(dir_.path(), dir_ / "a/b/loop");
  std::filesystem::create_directory_symlink("..", dir_ / "a/up");
  std::filesystem::create_symlink(dir_ / "server.crt", dir_ / "a/link.crt");
  std::filesystem::create_symlink(dir_ / "nowhere", dir_ / "a/dangling");
  FsScanOptions opts;
  opts.roots = {dir_.path()};
  Collected c = Scan(opts);
  // The certificate is seen at its path and at the file symlink, never through loops.
  EXPECT_NE(c.Find(dir_ / "a/link.crt"), nullptr);
  for (const auto& o : c.observations)
    EXPECT_EQ(o.location.path.find("/loop/"), std::string::npos) << o.location.path;
  EXPECT_EQ(c.observations.size(), 3u);
  EXPECT_TRUE(c.errors.empty());
}

TEST_F(FsScanTest, SkipsFifosWithoutBlocking) {
  ASSERT_EQ(::mkfifo((dir_ / "a/pipe").c_str(), 0644), 0);
  FsScanOptions opts;
  opts.roots = {dir_.path()};
  Collected c = Scan(opts);  // would hang forever if the FIFO were opened for reading
  EXPECT_EQ(c.Find(dir_ / "a/pipe"), nullptr);
}

TEST_F(FsScanTest, OversizedCandidateIsAnErrorAndTheScanGoesOn) {
  // A huge sparse file that looks like PEM: sniffed, never read whole.
  std::string big = dir_ / "a/huge.pem";
  WriteFile(big, "-----BEGIN CERTIFICATE-----\n");
  ASSERT_EQ(::truncate(big.c_str(), 10LL << 30), 0);
  std::string zeros = dir_ / "a/zeros.bin";
  WriteFile(zeros, "");
  ASSERT_EQ(::truncate(zeros.c_str(), 1LL << 30), 0);
  FsScanOptions opts;
  opts.roots = {dir_.path()};
  opts.max_file_size = 1 << 20;
  Collected c = Scan(opts);
  const auto* e = c.ErrorFor(big);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->reason.find("over the limit"), std::string::npos) << e->reason;
  EXPECT_EQ(c.ErrorFor(zeros), nullptr);  // not a candidate: silently skipped
  EXPECT_NE(c.Find(dir_ / "server.crt"), nullptr);
}

TEST_F(FsScanTest, BadContentIsRecordedWithPathAndReason) {
  std::string pem = ReadFile(dir_ / "server.crt");
  WriteFile(dir_ / "a/truncated.pem", pem.substr(0, pem.size() / 2) + "\n-----END CERTIFICATE-----\n");
  WriteFile(dir_ / "a/badb64.pem", "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n" + pem);
  WriteFile(dir_ / "a/empty.pem", "");
  FsScanOptions opts;
  opts.roots = {dir_.path()};
  Collected c = Scan(opts);
  EXPECT_NE(c.ErrorFor(dir_ / "a/truncated.pem"), nullptr);
  EXPECT_NE(c.ErrorFor(dir_ / "a/badb64.pem"), nullptr);
  // The good block after the bad one is still found.
  const auto* mixed = c.Find(dir_ / "a/badb64.pem");
  ASSERT_NE(mixed, nullptr);
  EXPECT_EQ(mixed->identities.size(), 1u);
  EXPECT_EQ(c.ErrorFor(dir_ / "a/empty.pem"), nullptr);
  EXPECT_NE(c.Find(dir_ / "server.crt"), nullptr);
}

TEST_F(FsScanTest, ExcludeGlobsMatchPathsAndNames) {
  std::filesystem::copy_file(dir_ / "server.crt", dir_ / "a/b/c/skip-me.crt");
  std::filesystem::copy_file(dir_ / "server.crt", dir_ / "a/b/keep.crt");
  FsScanOptions opts;
  opts.roots = {dir_.path()};
  opts.excludes = {"skip-*", dir_ / "server.*"};
  Collected c = Scan(opts);
  EXPECT_EQ(c.Find(dir_ / "a/b/c/skip-me.crt"), nullptr);
  EXPECT_EQ(c.Find(dir_ / "server.crt"), nullptr);
  EXPECT_NE(c.Find(dir_ / "a/b/keep.crt"), nullptr);
}

TEST_F(FsScanTest, MissingRootIsRecordedAndOtherRootsAreScanned) {
  FsScanOptions opts;
  opts.roots = {dir_ / "does-not-exist", dir_ / "server.crt"};
  Collected c = Scan(opts);
  EXPECT_NE(c.ErrorFor(dir_ / "does-not-exist"), nullptr);
  EXPECT_NE(c.Find(dir_ / "server.crt"), nullptr);  // a root may be a single file
}

TEST_F(FsScanTest, UnreadableDirectoryIsRecordedNotFatal) {
  std::filesystem::copy_file(dir_ / "server.crt", dir_ / "a/b/c/hidden.crt");
  ASSERT_EQ(::chmod((dir_ / "a/b").c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir_ / "a").c_str(), 0755), 0);
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod((dir_ / "a/b").c_str(), 0000), 0);
    FsScanOptions opts;
    opts.roots = {dir_.path()};
    Collected c = Scan(opts);
    ASSERT_NE(c.ErrorFor(dir_ / "a/b"), nullptr);
    EXPECT_NE(c.ErrorFor(dir_ / "a/b")->reason.find("Permission denied"), std::string::npos);
    EXPECT_NE(c.Find(dir_ / "server.crt"), nullptr);
    return;
  }
  // As root, permissions do not stop reads: scan as nobody in a child process.
  ASSERT_EQ(::chown((dir_ / "server.crt").c_str(), 65534, 65534), 0);
  EXPECT_EXIT(
      {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) std::_Exit(10);
        FsScanOptions opts;
        opts.roots = {dir_.path()};
        opts.threads = 1;
        Collected c = Scan(opts);
        const auto* e = c.ErrorFor(dir_ / "a/b");
        if (!e) std::_Exit(11);
        if (e->reason.find("Permission denied") == std::string::npos) std::_Exit(12);
        if (!c.Find(dir_ / "server.crt")) std::_Exit(13);
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

// A writer flips a file between two different certificates while scans read it. Each
// scan must see one whole version or record "changed while being read"; never a crash,
// never an identity that is neither version. `root_is_dir`: the file is found by
// readdir (read without a prior fstat) rather than named as a root (stat()ed first).
void FsScanTest::CheckRewrittenFileNeverMixes(bool root_is_dir) {
  MakeSelfSigned(dir_ / "other.crt", dir_ / "other.key", "other.example", "rsa:3072");
  const std::string v1 = ReadFile(dir_ / "server.crt");
  const std::string v2 = ReadFile(dir_ / "other.crt");
  FsScanOptions probe;
  probe.roots = {dir_ / "server.crt", dir_ / "other.crt"};
  Collected known = Scan(probe);
  ASSERT_EQ(known.observations.size(), 2u);
  std::set<std::string> fingerprints = {known.observations[0].identities[0].fingerprint,
                                        known.observations[1].identities[0].fingerprint};
  std::filesystem::create_directories(dir_ / "flip");
  const std::string target = dir_ / "flip/flip.pem";
  WriteFile(target, v1);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop && i < 200000; ++i) {
      std::ofstream out(target, std::ios::binary | std::ios::trunc);
      out << (i % 2 ? v2 : v1);
    }
  });
  FsScanOptions opts;
  opts.roots = {root_is_dir ? dir_ / "flip" : target};
  for (int round = 0; round < 200; ++round) {
    Collected c = Scan(opts);
    for (const auto& o : c.observations)
      for (const auto& id : o.identities) EXPECT_TRUE(fingerprints.count(id.fingerprint));
  }
  stop = true;
  writer.join();
  // Once the writer is done, the file (just written: still read twice) is whole again.
  Collected last = Scan(opts);
  ASSERT_EQ(last.observations.size(), 1u);
  ASSERT_EQ(last.observations[0].identities.size(), 1u);
  EXPECT_TRUE(fingerprints.count(last.observations[0].identities[0].fingerprint));
}

TEST_F(FsScanTest, FileRewrittenDuringScansNeverYieldsAMixedRead) {
  CheckRewrittenFileNeverMixes(/*root_is_dir=*/false);
}

TEST_F(FsScanTest, FileFoundByReaddirRewrittenDuringScansNeverYieldsAMixedRead) {
  CheckRewrittenFileNeverMixes(/*root_is_dir=*/true);
}

TEST_F(FsScanTest, CancelStopsTheWalk) {
  for (int i = 0; i < 50; ++i) std::filesystem::create_directories(dir_ / ("d" + std::to_string(i)));
  std::atomic<bool> cancel{true};
  FsScanOptions opts;
  opts.roots = {dir_.path()};
  int batches = 0;
  auto stats = ScanFilesystem(
      opts, [&](auto&&, auto&&) { ++batches; return Status{}; }, nullptr, &cancel);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->files_seen, 0);
}

TEST_F(FsScanTest, SinkErrorStopsTheScanAndIsReturned) {
  for (int i = 0; i < 20; ++i)
    std::filesystem::copy_file(dir_ / "server.crt", dir_ / ("a/c" + std::to_string(i) + ".crt"));
  FsScanOptions opts;
  opts.roots = {dir_.path()};
  opts.batch_files = 2;
  auto stats = ScanFilesystem(opts, [&](auto&&, auto&&) -> Status {
    return Fail(ErrorCode::kIo, "disk full");
  });
  ASSERT_FALSE(stats.has_value());
  EXPECT_EQ(stats.error().message, "disk full");
}

}  // namespace
}  // namespace mica::discover
