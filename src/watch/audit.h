// The tamper-evident audit log over the store's event table: checkpoint signing,
// full verification, inclusion proofs. docs/AUDIT.md explains the format.
//
// The log is an RFC 9162 Merkle tree whose leaves are the events' canonical JSON
// bodies (store::CanonicalEventBody). A checkpoint is a tree head (size, root) signed with the operator's key over
// the text CheckpointText() returns, in the spirit of the C2SP tlog-checkpoint note.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/error.h"
#include "store/store.h"
#include "x509/signing.h"

namespace mica::watch {

// "mica audit log\n<size>\n<base64 root>\n": the message a checkpoint signature covers.
std::string CheckpointText(std::int64_t size, const Bytes& root);

// Records a checkpoint of the current head (Store::Checkpoint) and signs every unsigned
// checkpoint with `key`. Returns the number signed.
[[nodiscard]] Result<int> SignCheckpoints(store::Store& store, const x509::SigningKey& key,
                                          UnixSeconds now);

struct AuditProblem {
  std::int64_t seq = -1;  // the entry at fault, -1 when not one entry
  std::string what;
};

struct AuditReport {
  bool ok = true;
  std::int64_t entries = 0;
  std::int64_t checkpoints = 0, signatures_verified = 0, unsigned_checkpoints = 0;
  std::string root_hex;                 // recomputed root of all entries
  std::vector<AuditProblem> problems;   // in log order; the first names the first bad entry
  std::vector<std::string> warnings;    // unsigned checkpoints, no key to check with
};

// Recomputes every leaf and the tree, compares them with the stored leaf hashes, the
// entries' own sequence numbers, every checkpoint's root and the head, and checks each
// checkpoint's signature against `trusted_spki` (the operator's public key; nullopt:
// signatures are not checked, which is a warning). Streams the log: memory is O(log n)
// plus the checkpoints.
[[nodiscard]] Result<AuditReport> VerifyAudit(store::Store& store,
                                              const std::optional<Bytes>& trusted_spki);

struct InclusionProof {
  std::int64_t index = 0, tree_size = 0;
  Bytes leaf_hash, root;
  std::vector<Bytes> path;
  bool verified = false;  // the proof verifies against `root` (RFC 9162 2.1.3.2)
};

// The proof that entry `index` is in the tree of the first `tree_size` entries (0: the
// whole log). kNotFound when index >= tree_size.
[[nodiscard]] Result<InclusionProof> ProveInclusion(store::Store& store, std::int64_t index,
                                                    std::int64_t tree_size);

}  // namespace mica::watch
