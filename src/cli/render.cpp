#include "cli/render.h"

#include <fmt/format.h>

#include "core/time.h"
#include "x509/identity_json.h"

namespace mica::cli {

using nlohmann::json;

std::string Mode(std::uint32_t mode) { return fmt::format("{:04o}", mode & 07777); }

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// The short human name of an identity for tables: CN, else subject, else comment.
std::string Label(const x509::Identity& id) {
  if (id.cert) {
    if (!id.cert->subject_parts.cn.empty()) return id.cert->subject_parts.cn;
    if (!id.cert->subject.empty()) return id.cert->subject;
    if (!id.cert->san_dns.empty()) return id.cert->san_dns.front();
    return "(empty subject)";
  }
  if (id.ssh) {
    if (!id.ssh->key_id.empty()) return id.ssh->key_id;
    return id.ssh->comment;
  }
  return "";
}

std::string IssuerLabel(const x509::Identity& id) {
  if (!id.cert) return id.ssh && !id.ssh->ca_fingerprint.empty() ? id.ssh->ca_fingerprint : "";
  return id.cert->issuer_parts.cn.empty() ? id.cert->issuer : id.cert->issuer_parts.cn;
}

std::string KeyLabel(const x509::KeyInfo& k) {
  if (k.type == x509::KeyType::kUnknown) return "unknown";
  std::string s = x509::KeyTypeName(k.type);
  if (!k.curve.empty()) return s + "-" + k.curve;
  if (k.bits && (k.type == x509::KeyType::kRsa || k.type == x509::KeyType::kDsa))
    return s + "-" + std::to_string(k.bits);
  return s;
}

std::string ShortDate(UnixSeconds t) { return FormatRfc3339(t).substr(0, 10); }

json RowJson(const store::IdentityRow& r) {
  json j = x509::ToJson(r.identity);
  j["id"] = r.id;
  j["first_seen"] = FormatRfc3339(r.first_seen);
  j["last_seen"] = FormatRfc3339(r.last_seen);
  j["locations"] = r.locations;
  return j;
}

json SightingJson(const store::SightingRow& s) {
  json j;
  j["location_kind"] = store::LocationKindName(s.location.kind);
  j["host"] = s.location.host;
  if (s.location.kind == store::LocationKind::kFile) {
    j["path"] = s.location.path;
  } else {
    j["port"] = s.location.port;
    j["sni"] = s.location.sni;
  }
  j["position"] = s.position;
  j["first_seen"] = FormatRfc3339(s.first_seen);
  j["last_seen"] = FormatRfc3339(s.last_seen);
  j["present"] = s.present;
  if (!s.present) j["vanished_at"] = FormatRfc3339(s.vanished_at);
  j["first_scan_id"] = s.first_scan_id;
  j["last_scan_id"] = s.last_scan_id;
  if (s.file) {
    j["mode"] = Mode(s.file->mode);
    j["owner"] = s.file->owner;
    j["group"] = s.file->group;
    j["uid"] = s.file->uid;
    j["gid"] = s.file->gid;
    j["size"] = s.file->size;
    j["mtime"] = FormatRfc3339(s.file->mtime);
  }
  return j;
}

std::string Where(const store::SightingRow& s) {
  if (s.location.kind == store::LocationKind::kFile) return s.location.path;
  return s.location.host + ":" + std::to_string(s.location.port);
}

json ScanJson(const store::ScanRow& s) {
  return json{{"id", s.id},
              {"kind", s.start.kind},
              {"host", s.start.host},
              {"roots", s.start.roots},
              {"started_at", FormatRfc3339(s.start.started_at)},
              {"finished_at", s.finished_at ? FormatRfc3339(s.finished_at) : ""},
              {"status", s.status},
              {"files_seen", s.stats.files_seen},
              {"candidates", s.stats.candidates},
              {"identities", s.stats.identities},
              {"errors", s.stats.errors}};
}

}  // namespace mica::cli
