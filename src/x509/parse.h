// Content recognition and parsing of every supported identity format.
//
// ParseContent takes the bytes of one file (or any blob) and returns every identity in
// it, plus per-item issues for parts that could not be read (a bad PEM block does not
// hide the good ones). Thread-safe; holds no state between calls.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "x509/identity.h"

namespace mica::x509 {

enum class Format {
  kUnknown,
  kPem,          // one or more PEM blocks, any text around them
  kDer,          // a DER SEQUENCE: certificate, key, PKCS#7, PKCS#12 (decided by parsing)
  kPkcs12,
  kJks,          // Java KeyStore (0xFEEDFEED)
  kJceks,        // JCE KeyStore (0xCECECECE)
  kOpenSshPublic,   // "ssh-ed25519 AAAA..." lines, authorized_keys, known_hosts-like
  kOpenSshPrivate,  // -----BEGIN OPENSSH PRIVATE KEY----- (also found via kPem)
  kPpk,          // PuTTY-User-Key-File-2/3
};
const char* FormatName(Format f);

// Decides from the first bytes of a file (pass at least 4 KiB when the file has them)
// whether it may hold an identity, and in which format. Cheap: no allocation, no
// decoding beyond a few header bytes. kUnknown means "skip this file".
Format Sniff(ByteView head);

struct ParseOptions {
  // Passwords tried on PKCS#12 files after the empty one. Never logged.
  std::vector<std::string> pkcs12_passwords;
};

struct ParseIssue {
  std::string position;  // "pem:2", "der", "line:7", "jks:alias"
  std::string reason;    // "bad base64", "truncated DER", "encrypted, not opened"
};

struct ParsedContent {
  Format format = Format::kUnknown;
  std::vector<Identity> identities;
  std::vector<ParseIssue> issues;
};

// Parses `data`. Returns an error only when nothing in it could be recognised as a
// supported format (ErrorCode::kInput); partial failures are `issues`.
[[nodiscard]] Result<ParsedContent> ParseContent(ByteView data, const ParseOptions& options);

}  // namespace mica::x509
