#include "x509/identity_json.h"

#include <array>
#include <limits>
#include <utility>

namespace mica::x509 {

namespace {

using nlohmann::json;

// Years 0000..9999: the range RFC 3339 can spell and ParseRfc3339 reads back.
constexpr UnixSeconds kMinRfc3339 = -62167219200;  // 0000-01-01T00:00:00Z
constexpr UnixSeconds kMaxRfc3339 = 253402300799;  // 9999-12-31T23:59:59Z

json TimeToJson(UnixSeconds t) {
  if (t < kMinRfc3339 || t > kMaxRfc3339) return t;
  return FormatRfc3339(t);
}

json NameToJson(const NameParts& n) { return {{"cn", n.cn}, {"o", n.o}, {"ou", n.ou}, {"c", n.c}}; }

json CertToJson(const CertificateInfo& c) {
  json basic = nullptr;
  if (c.has_basic_constraints) {
    basic = {{"ca", c.is_ca}, {"path_len", c.path_len < 0 ? json(nullptr) : json(c.path_len)}};
  }
  return {
      {"version", c.version},
      {"subject", c.subject},
      {"issuer", c.issuer},
      // Flat copies of the most used name parts, so that consumers (jq, the web UI) need
      // not dig; the full parts are in subject_parts / issuer_parts.
      {"subject_cn", c.subject_parts.cn},
      {"issuer_cn", c.issuer_parts.cn},
      {"subject_parts", NameToJson(c.subject_parts)},
      {"issuer_parts", NameToJson(c.issuer_parts)},
      {"serial", c.serial_hex},
      {"not_before", TimeToJson(c.not_before)},
      {"not_after", TimeToJson(c.not_after)},
      {"sans", {{"dns", c.san_dns}, {"ip", c.san_ip}, {"email", c.san_email}, {"uri", c.san_uri}}},
      {"signature_algorithm", c.signature_algorithm},
      // null: the extension is absent, which is not the same as present with no bits.
      {"key_usage", c.has_key_usage ? json(KeyUsageNames(c.key_usage)) : json(nullptr)},
      {"eku", c.eku},
      {"basic_constraints", basic},
      {"ski", c.ski_hex},
      {"aki", c.aki_hex},
      {"ocsp_urls", c.ocsp_urls},
      {"ca_issuer_urls", c.ca_issuer_urls},
      {"crl_urls", c.crl_urls},
      {"sct_count", c.sct_count},
      {"policy_oids", c.policy_oids},
      {"self_issued", c.self_issued},
      {"self_signed", c.self_signed},
      {"sha1", c.sha1_hex},
  };
}

json SshToJson(const SshInfo& s) {
  return {
      {"algorithm", s.algorithm},
      {"comment", s.comment},
      {"options", s.options},
      {"serial", s.serial},
      {"cert_type", s.cert_type},
      {"key_id", s.key_id},
      {"principals", s.principals},
      {"valid_after", TimeToJson(s.valid_after)},
      {"valid_before", TimeToJson(s.valid_before)},
      {"ca_fingerprint", s.ca_fingerprint},
      {"critical_options", s.critical_options},
      {"extensions", s.extensions},
  };
}

// Reads fields of one JSON object. The first problem is kept (later ones are usually
// consequences of it) and names the field by its dotted path.
class Reader {
 public:
  Reader(const json* object, std::string path, std::optional<Error>* error)
      : object_(object), path_(std::move(path)), error_(error) {}

  // A sub-object, or nullopt when the field is absent or null.
  std::optional<Reader> Object(const char* name) {
    const json* v = Field(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_object()) {
      Bad(name, "is not an object");
      return std::nullopt;
    }
    return Reader(v, Path(name), error_);
  }

  void String(const char* name, std::string& out) {
    const json* v = Field(name);
    if (v == nullptr) return;
    if (!v->is_string()) return Bad(name, "is not a string");
    out = v->get_ref<const std::string&>();
  }

  void Bool(const char* name, bool& out) {
    const json* v = Field(name);
    if (v == nullptr) return;
    if (!v->is_boolean()) return Bad(name, "is not a boolean");
    out = v->get<bool>();
  }

  template <class T>
  void Integer(const char* name, T& out) {
    const json* v = Field(name);
    if (v == nullptr) return;
    if (!ReadInteger(*v, out)) Bad(name, "is not an integer in range");
  }

  void Strings(const char* name, std::vector<std::string>& out) {
    const json* v = Field(name);
    if (v == nullptr) return;
    if (!v->is_array()) return Bad(name, "is not an array");
    out.clear();
    for (const json& item : *v) {
      if (!item.is_string()) return Bad(name, "has an item that is not a string");
      out.push_back(item.get<std::string>());
    }
  }

  void Time(const char* name, UnixSeconds& out) {
    const json* v = Field(name);
    if (v == nullptr) return;
    if (v->is_string()) {
      auto t = ParseRfc3339(v->get_ref<const std::string&>());
      if (!t) return Bad(name, "is not an RFC 3339 time");
      out = *t;
      return;
    }
    if (!ReadInteger(*v, out)) Bad(name, "is neither an RFC 3339 time nor Unix seconds");
  }

  // The field itself (absent and null both give nullptr), for the caller to interpret.
  const json* Field(const char* name) {
    if (error_->has_value()) return nullptr;
    auto it = object_->find(name);
    if (it == object_->end() || it->is_null()) return nullptr;
    return &*it;
  }

  void Bad(const char* name, const std::string& why) {
    if (!error_->has_value()) *error_ = Error{ErrorCode::kInput, Path(name) + " " + why};
  }

 private:
  template <class T>
  static bool ReadInteger(const json& v, T& out) {
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return false;
      out = static_cast<T>(u);
      return true;
    }
    if (v.is_number_integer()) {
      const auto i = v.get<std::int64_t>();
      if constexpr (std::is_signed_v<T>) {
        if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) return false;
      } else {
        if (i < 0 || static_cast<std::uint64_t>(i) > std::numeric_limits<T>::max()) return false;
      }
      out = static_cast<T>(i);
      return true;
    }
    return false;
  }

  std::string Path(const char* name) const {
    return path_.empty() ? std::string(name) : path_ + "." + name;
  }

  const json* object_;
  std::string path_;
  std::optional<Error>* error_;
};

void ReadName(std::optional<Reader> r, NameParts& out) {
  if (!r) return;
  r->String("cn", out.cn);
  r->String("o", out.o);
  r->String("ou", out.ou);
  r->String("c", out.c);
}

std::optional<std::uint16_t> KeyUsageBitFromName(std::string_view name) {
  for (int i = 0; i < 9; ++i) {
    const auto bit = static_cast<std::uint16_t>(1u << i);
    if (KeyUsageNames(bit).front() == name) return bit;
  }
  return std::nullopt;
}

void ReadCert(Reader& r, CertificateInfo& c) {
  r.Integer("version", c.version);
  r.String("subject", c.subject);
  r.String("issuer", c.issuer);
  ReadName(r.Object("subject_parts"), c.subject_parts);
  ReadName(r.Object("issuer_parts"), c.issuer_parts);
  // The flat copies win only when the parts object did not say (hand-written JSON).
  if (c.subject_parts.cn.empty()) r.String("subject_cn", c.subject_parts.cn);
  if (c.issuer_parts.cn.empty()) r.String("issuer_cn", c.issuer_parts.cn);
  r.String("serial", c.serial_hex);
  r.Time("not_before", c.not_before);
  r.Time("not_after", c.not_after);
  if (auto sans = r.Object("sans")) {
    sans->Strings("dns", c.san_dns);
    sans->Strings("ip", c.san_ip);
    sans->Strings("email", c.san_email);
    sans->Strings("uri", c.san_uri);
  }
  r.String("signature_algorithm", c.signature_algorithm);
  if (r.Field("key_usage") != nullptr) {
    std::vector<std::string> names;
    r.Strings("key_usage", names);
    c.has_key_usage = true;
    c.key_usage = 0;
    for (const auto& name : names) {
      auto bit = KeyUsageBitFromName(name);
      if (!bit) {
        r.Bad("key_usage", "has an unknown usage '" + name + "'");
        break;
      }
      c.key_usage |= *bit;
    }
  }
  r.Strings("eku", c.eku);
  if (auto basic = r.Object("basic_constraints")) {
    c.has_basic_constraints = true;
    basic->Bool("ca", c.is_ca);
    c.path_len = -1;
    basic->Integer("path_len", c.path_len);
  }
  r.String("ski", c.ski_hex);
  r.String("aki", c.aki_hex);
  r.Strings("ocsp_urls", c.ocsp_urls);
  r.Strings("ca_issuer_urls", c.ca_issuer_urls);
  r.Strings("crl_urls", c.crl_urls);
  r.Integer("sct_count", c.sct_count);
  r.Strings("policy_oids", c.policy_oids);
  r.Bool("self_issued", c.self_issued);
  r.Bool("self_signed", c.self_signed);
  r.String("sha1", c.sha1_hex);
}

void ReadSsh(Reader& r, SshInfo& s) {
  r.String("algorithm", s.algorithm);
  r.String("comment", s.comment);
  r.String("options", s.options);
  r.Integer("serial", s.serial);
  r.String("cert_type", s.cert_type);
  r.String("key_id", s.key_id);
  r.Strings("principals", s.principals);
  r.Time("valid_after", s.valid_after);
  r.Time("valid_before", s.valid_before);
  r.String("ca_fingerprint", s.ca_fingerprint);
  r.Strings("critical_options", s.critical_options);
  r.Strings("extensions", s.extensions);
}

}  // namespace

std::optional<KeyType> KeyTypeFromName(std::string_view name) {
  static constexpr std::array kTypes = {KeyType::kUnknown, KeyType::kRsa,   KeyType::kEc,
                                        KeyType::kEd25519, KeyType::kEd448, KeyType::kDsa,
                                        KeyType::kX25519,  KeyType::kX448};
  for (KeyType t : kTypes)
    if (name == KeyTypeName(t)) return t;
  return std::nullopt;
}

json ToJson(const Identity& id) {
  json out = {
      {"kind", KindName(id.kind)},
      {"fingerprint", id.fingerprint},
      {"position", id.position},
      {"key",
       {{"type", KeyTypeName(id.key.type)},
        {"bits", id.key.bits},
        {"curve", id.key.curve},
        {"spki_sha256", id.key.spki_sha256}}},
      {"certificate", nullptr},
      {"private_key", nullptr},
      {"ssh", nullptr},
  };
  if (id.cert) out["certificate"] = CertToJson(*id.cert);
  if (id.private_key) {
    out["private_key"] = {{"format", id.private_key->format},
                          {"encrypted", id.private_key->encrypted},
                          {"cipher", id.private_key->cipher}};
  }
  if (id.ssh) out["ssh"] = SshToJson(*id.ssh);
  return out;
}

Result<Identity> IdentityFromJson(const json& j) {
  if (!j.is_object()) return Fail(ErrorCode::kInput, "identity JSON is not an object");
  std::optional<Error> error;
  Reader r(&j, "", &error);
  Identity id;

  std::string kind;
  r.String("kind", kind);
  if (!error) {
    auto k = KindFromName(kind);
    if (!k) return Fail(ErrorCode::kInput, "identity JSON: unknown kind '" + kind + "'");
    id.kind = *k;
  }
  r.String("fingerprint", id.fingerprint);
  r.String("position", id.position);
  if (auto key = r.Object("key")) {
    std::string type = "unknown";
    key->String("type", type);
    if (auto t = KeyTypeFromName(type)) {
      id.key.type = *t;
    } else {
      key->Bad("type", "is an unknown key type '" + type + "'");
    }
    key->Integer("bits", id.key.bits);
    key->String("curve", id.key.curve);
    key->String("spki_sha256", id.key.spki_sha256);
  }
  if (auto cert = r.Object("certificate")) ReadCert(*cert, id.cert.emplace());
  if (auto pk = r.Object("private_key")) {
    auto& p = id.private_key.emplace();
    pk->String("format", p.format);
    pk->Bool("encrypted", p.encrypted);
    pk->String("cipher", p.cipher);
  }
  if (auto ssh = r.Object("ssh")) ReadSsh(*ssh, id.ssh.emplace());

  if (error) return Fail(error->code, "identity JSON: " + error->message);
  return id;
}

}  // namespace mica::x509
