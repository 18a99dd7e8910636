// `mica verify` (docs/CLI.md "verify"): chain building and validation of one leaf,
// through x509::VerifyChain, the engine the policy rule uses.
//
// Exit codes: 0 the chain verifies; 1 it does not (the reason is printed); 2 usage;
// 3 an input file cannot be read or decoded.
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/verbs.h"
#include "core/time.h"
#include "x509/verify.h"

namespace mica::cli {

namespace {

struct VerifyFlags {
  std::string leaf, untrusted, roots, host, ip, purpose = "any", at, eku_mode = "lenient";
  std::vector<std::string> crls, policies;
  int max_depth = -1;
  bool json = false;
  bool anchor_name_and_key = false, anchor_ignore_expiry = false, no_x509_strict = false, allow_sha1 = false;
  bool explicit_policy = false, inhibit_policy_mapping = false, inhibit_any_policy = false;
};

Result<Bytes> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kNotFound, path + ": cannot be read");
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Result<std::vector<Bytes>> LoadCerts(const std::string& path) {
  auto bytes = Slurp(path);
  if (!bytes) return tl::unexpected(bytes.error());
  auto certs = x509::ReadCertificates(*bytes);
  if (!certs) return Wrap(certs.error(), path);
  return certs;
}

int Run(const VerifyFlags& f) {
  x509::VerifyOptions o;
  auto purpose = x509::VerifyPurposeFromName(f.purpose);
  if (!purpose)
    return Context::ReportError({ErrorCode::kInvalidArgument,
                                 "--purpose " + f.purpose + ": use server, client, code-signing or email"});
  o.purpose = *purpose;
  auto eku_mode = x509::EkuModeFromName(f.eku_mode);
  if (!eku_mode)
    return Context::ReportError({ErrorCode::kInvalidArgument,
                                 "--eku-mode " + f.eku_mode + ": use lenient, strict-leaf or strict"});
  o.eku_mode = *eku_mode;
  o.anchor.validity = !f.anchor_name_and_key && !f.anchor_ignore_expiry;
  o.anchor.constraints = !f.anchor_name_and_key;
  o.x509_strict = !f.no_x509_strict;
  o.allow_sha1 = f.allow_sha1;
  o.initial_policies = f.policies;
  o.explicit_policy = f.explicit_policy;
  o.inhibit_policy_mapping = f.inhibit_policy_mapping;
  o.inhibit_any_policy = f.inhibit_any_policy;
  o.host = f.host;
  o.ip = f.ip;
  o.max_depth = f.max_depth;
  if (!f.at.empty()) {
    auto t = ParseRfc3339(f.at);
    if (!t) return Context::ReportError({ErrorCode::kInvalidArgument, "--at " + f.at + ": " + t.error().message});
    o.at = *t;
  }
  auto leaf = LoadCerts(f.leaf);
  if (!leaf) return Context::ReportError(leaf.error());
  // Further certificates in the leaf's file are offered as intermediates (a full chain
  // file, as servers are configured with).
  o.untrusted.assign(leaf->begin() + 1, leaf->end());
  if (!f.untrusted.empty()) {
    auto u = LoadCerts(f.untrusted);
    if (!u) return Context::ReportError(u.error());
    o.untrusted.insert(o.untrusted.end(), u->begin(), u->end());
  }
  if (!f.roots.empty()) {
    auto r = LoadCerts(f.roots);
    if (!r) return Context::ReportError(r.error());
    o.roots = std::move(*r);
    o.system_roots = false;
  }
  for (const auto& path : f.crls) {
    auto bytes = Slurp(path);
    if (!bytes) return Context::ReportError(bytes.error());
    auto crls = x509::ReadCrls(*bytes);
    if (!crls) return Context::ReportError(Wrap(crls.error(), path).value());
    o.crls.insert(o.crls.end(), crls->begin(), crls->end());
  }
  auto r = x509::VerifyChain(leaf->front(), o);
  if (!r) return Context::ReportError(r.error());
  if (f.json) {
    nlohmann::json j{{"ok", r->ok},
                     {"error", r->error},
                     {"error_code", r->error_code},
                     {"error_depth", r->error_depth},
                     {"purpose", x509::VerifyPurposeName(o.purpose)},
                     {"eku_mode", x509::EkuModeName(o.eku_mode)},
                     {"chain", r->chain}};
    std::cout << j.dump(2) << "\n";
  } else if (r->ok) {
    std::cout << f.leaf << ": OK (" << r->chain.size() << " certificates)\n";
    for (std::size_t i = 0; i < r->chain.size(); ++i) std::cout << "  " << i << " " << r->chain[i] << "\n";
  } else {
    std::cout << f.leaf << ": FAILED at depth " << r->error_depth << ": " << r->error << " ("
              << r->error_code << ")\n";
  }
  return r->ok ? 0 : 1;
}

}  // namespace

void RegisterVerifyVerbs(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<VerifyFlags>();
  auto* v = app.add_subcommand("verify", "Build and validate the chain of a leaf certificate");
  v->add_option("leaf", f->leaf, "PEM or DER file; its first certificate is the leaf")->required();
  v->add_option("--untrusted", f->untrusted, "Intermediates offered for chain building");
  v->add_option("--roots", f->roots, "Trust anchors (default: the system store)");
  auto* host = v->add_option("--host", f->host, "Check the leaf against this DNS name");
  auto* ip = v->add_option("--ip", f->ip, "Check the leaf against this IP address");
  host->excludes(ip);
  v->add_option("--purpose", f->purpose, "server, client, code-signing or email");
  v->add_option("--eku-mode", f->eku_mode, "lenient (default), strict-leaf or strict: how --purpose server|client reads EKUs");
  v->add_flag("--anchor-name-and-key", f->anchor_name_and_key,
              "RFC 5280 anchors: ignore the anchor certificate's validity, constraints and extensions");
  v->add_flag("--anchor-ignore-expiry", f->anchor_ignore_expiry, "Ignore the anchor certificate's validity period only");
  v->add_flag("--no-x509-strict", f->no_x509_strict,
              "RFC 5280 path validation without OpenSSL's X509_STRICT profile checks");
  v->add_flag("--allow-sha1", f->allow_sha1, "Accept SHA-1 signatures (keys still need 80-bit security)");
  v->add_option("--policy", f->policies, "Initial policy OID (repeatable; default anyPolicy)");
  v->add_flag("--explicit-policy", f->explicit_policy, "Require a valid policy (initial-explicit-policy)");
  v->add_flag("--inhibit-policy-mapping", f->inhibit_policy_mapping, "initial-policy-mapping-inhibit");
  v->add_flag("--inhibit-any-policy", f->inhibit_any_policy, "initial-any-policy-inhibit");
  v->add_option("--at", f->at, "Validation time, RFC 3339 (default: now)");
  v->add_option("--crl", f->crls, "CRL files (PEM or DER); when given, every certificate needs a CRL");
  v->add_option("--max-depth", f->max_depth, "Maximum number of intermediates");
  v->add_flag("--json", f->json, "Print one JSON document");
  v->callback([&ctx, f] {
    ctx.selected = [&ctx, f] {
      if (!ctx.Setup(false)) return ctx.exit_code;
      return Run(*f);
    };
  });
}

}  // namespace mica::cli
