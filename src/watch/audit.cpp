#include "watch/audit.h"

#include <algorithm>

#include "core/merkle.h"

namespace mica::watch {

namespace {

constexpr std::size_t kMaxProblems = 20;

}  // namespace

std::string CheckpointText(std::int64_t size, const Bytes& root) {
  std::string out = "mica audit log\n";
  out.append(std::to_string(size)).append("\n").append(Base64Encode(root)).append("\n");
  return out;
}

Result<int> SignCheckpoints(store::Store& store, const x509::SigningKey& key, UnixSeconds now) {
  auto head = store.Checkpoint(now);
  if (!head) return tl::unexpected(head.error());
  auto pending = store.ListCheckpoints(/*unsigned_only=*/true);
  if (!pending) return tl::unexpected(pending.error());
  int signed_count = 0;
  for (const auto& c : *pending) {
    if (c.size == 0) continue;
    auto sig = key.Sign(AsBytes(CheckpointText(c.size, c.root)));
    if (!sig) return tl::unexpected(sig.error());
    if (auto s = store.SignCheckpoint(c.size, key.key_id(), key.algorithm(), *sig); !s)
      return tl::unexpected(s.error());
    ++signed_count;
  }
  return signed_count;
}

Result<AuditReport> VerifyAudit(store::Store& store, const std::optional<Bytes>& trusted_spki) {
  AuditReport report;
  auto checkpoints = store.ListCheckpoints(/*unsigned_only=*/false);
  if (!checkpoints) return tl::unexpected(checkpoints.error());
  auto head = store.GetAuditHead();
  if (!head) return tl::unexpected(head.error());
  report.checkpoints = static_cast<std::int64_t>(checkpoints->size());

  auto problem = [&](std::int64_t seq, std::string what) {
    report.ok = false;
    if (report.problems.size() < kMaxProblems) report.problems.push_back({seq, std::move(what)});
  };

  merkle::CompactRange range;
  std::size_t next_cp = 0;
  std::int64_t expected = 0;
  // The first entry found wrong; a checkpoint mismatch after it is its consequence.
  std::int64_t first_bad = -1;
  std::int64_t last_id = 0;
  auto check_checkpoints = [&]() {
    while (next_cp < checkpoints->size() &&
           (*checkpoints)[next_cp].size <= static_cast<std::int64_t>(range.size())) {
      const auto& c = (*checkpoints)[next_cp++];
      if (c.size != static_cast<std::int64_t>(range.size())) continue;  // reported as a gap
      if (merkle::ToBytes(range.Root()) != c.root && first_bad < 0) {
        const std::int64_t from = next_cp >= 2 ? (*checkpoints)[next_cp - 2].size : 0;
        problem(-1, "the log's first " + std::to_string(c.size) +
                        " entries do not match checkpoint " + std::to_string(c.size) +
                        ": an entry in [" + std::to_string(from) + ", " + std::to_string(c.size) +
                        ") was altered together with its stored hash");
        first_bad = from;
      }
    }
  };

  auto scanned = store.ScanAudit([&](const store::AuditEntry& e) {
    if (e.seq != expected) {
      if (e.seq > expected) {
        problem(expected, e.seq == expected + 1
                              ? "entry " + std::to_string(expected) + " is missing (deleted)"
                              : "entries " + std::to_string(expected) + " to " +
                                    std::to_string(e.seq - 1) + " are missing (deleted)");
      } else {
        problem(e.seq, "entry " + std::to_string(e.seq) + " is out of order");
      }
      if (first_bad < 0) first_bad = expected;
      expected = e.seq;
    }
    const merkle::Hash leaf = merkle::LeafHash(AsBytes(e.body));
    if (merkle::ToBytes(leaf) != e.leaf_hash) {
      problem(e.seq, "entry " + std::to_string(e.seq) +
                         " was altered: its body does not match its stored leaf hash");
      if (first_bad < 0) first_bad = e.seq;
    }
    // Event ids grow with the log: an id lower than the one before means the entry
    // before this one sits at the wrong position (swapped or moved).
    if (e.event_id <= last_id && e.seq > 0) {
      problem(e.seq - 1, "entry " + std::to_string(e.seq - 1) +
                             " is out of place: entries were reordered around it");
      if (first_bad < 0 || first_bad > e.seq - 1) first_bad = e.seq - 1;
    }
    last_id = e.event_id;
    range.Append(leaf);
    ++expected;
    ++report.entries;
    check_checkpoints();
  });
  if (!scanned) return tl::unexpected(scanned.error());

  const auto size = static_cast<std::int64_t>(range.size());
  report.root_hex = ToHex(range.Root());
  for (; next_cp < checkpoints->size(); ++next_cp) {
    const auto& c = (*checkpoints)[next_cp];
    if (c.size > size)
      problem(size, "checkpoint " + std::to_string(c.size) + " covers more entries than the " +
                        std::to_string(size) + " in the log: entries from " +
                        std::to_string(size) + " on were removed (truncated)");
  }

  if (head->size > size)
    problem(size, "the log ends at " + std::to_string(size) + " entries but its head says " +
                      std::to_string(head->size) + ": entries from " + std::to_string(size) +
                      " on were removed (truncated)");
  else if (head->size < size)
    problem(head->size, "entries from " + std::to_string(head->size) +
                            " on were added outside mica (the head says " +
                            std::to_string(head->size) + ")");
  else if (head->root != merkle::ToBytes(range.Root()) && report.ok)
    problem(-1, "the recomputed root does not match the stored head");
  for (const auto& c : *checkpoints) {
    if (c.signature.empty()) {
      ++report.unsigned_checkpoints;
      continue;
    }
    if (!trusted_spki) continue;
    if (c.key_id != Sha256Hex(*trusted_spki)) {
      problem(-1, "checkpoint " + std::to_string(c.size) + " is signed by key " + c.key_id +
                      ", not the configured one");
      continue;
    }
    if (x509::VerifySignature(*trusted_spki, AsBytes(CheckpointText(c.size, c.root)), c.signature))
      ++report.signatures_verified;
    else
      problem(-1, "checkpoint " + std::to_string(c.size) + " has a signature that does not verify");
  }
  // Entries named exactly first, in log order; findings about ranges (checkpoints, the
  // head) after them. A swap is only seen one entry later, after the checkpoint that
  // covers it may already have been reported.
  std::stable_sort(report.problems.begin(), report.problems.end(),
                   [](const AuditProblem& a, const AuditProblem& b) {
                     if ((a.seq < 0) != (b.seq < 0)) return a.seq >= 0;
                     return a.seq >= 0 && a.seq < b.seq;
                   });
  if (report.unsigned_checkpoints > 0)
    report.warnings.push_back(std::to_string(report.unsigned_checkpoints) +
                              " checkpoint(s) are not signed (configure [audit] signing_key)");
  if (!trusted_spki && report.checkpoints > report.unsigned_checkpoints)
    report.warnings.push_back(
        "signatures not checked: no key configured ([audit] signing_key or verify_key)");
  return report;
}

Result<InclusionProof> ProveInclusion(store::Store& store, std::int64_t index,
                                      std::int64_t tree_size) {
  auto head = store.GetAuditHead();
  if (!head) return tl::unexpected(head.error());
  if (tree_size <= 0) tree_size = head->size;
  if (tree_size > head->size)
    return Fail(ErrorCode::kInvalidArgument, "tree size " + std::to_string(tree_size) +
                                                 " is larger than the log (" +
                                                 std::to_string(head->size) + " entries)");
  if (index < 0 || index >= tree_size)
    return Fail(ErrorCode::kNotFound, "entry " + std::to_string(index) +
                                          " is not in a tree of " + std::to_string(tree_size) +
                                          " entries");
  std::vector<merkle::Hash> leaves;
  leaves.reserve(static_cast<std::size_t>(tree_size));
  auto scanned = store.ScanAudit([&](const store::AuditEntry& e) {
    if (static_cast<std::int64_t>(leaves.size()) >= tree_size) return;
    leaves.push_back(merkle::LeafHash(AsBytes(e.body)));
  });
  if (!scanned) return tl::unexpected(scanned.error());
  if (static_cast<std::int64_t>(leaves.size()) < tree_size)
    return Fail(ErrorCode::kInput, "the log holds fewer entries than its head says; run "
                                   "'mica audit verify'");
  InclusionProof p;
  p.index = index;
  p.tree_size = tree_size;
  const auto idx = static_cast<std::uint64_t>(index);
  p.leaf_hash = merkle::ToBytes(leaves[idx]);
  const merkle::Hash root = merkle::RootOf(leaves);
  p.root = merkle::ToBytes(root);
  const auto path = merkle::InclusionProof(leaves, idx);
  for (const auto& h : path) p.path.push_back(merkle::ToBytes(h));
  p.verified = merkle::VerifyInclusion(idx, leaves.size(), leaves[idx], path, root);
  return p;
}

}  // namespace mica::watch
