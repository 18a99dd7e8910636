// OpenSSH public keys, authorized_keys, private keys, certificates, RFC 4716 and PuTTY
// PPK files, made at test time with ssh-keygen and puttygen.
#include <gtest/gtest.h>

#include "fixtures.h"
#include "x509/parse.h"

namespace mica::x509 {
namespace {

using mica::testing::ReadFile;
using mica::testing::Shell;
using mica::testing::ShellOutput;
using mica::testing::TempDir;
using mica::testing::WriteFile;

ParsedContent MustParse(const std::string& data) {
  auto parsed = ParseContent(AsBytes(data), {});
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : ParsedContent{};
}

class SshTest : public ::testing::Test {
 protected:
  int Sh(const std::string& cmd) {
    return Shell("cd " + dir_.path() + " && (" + cmd + ") >/dev/null 2>&1");
  }
  // The "SHA256:..." that ssh-keygen -l prints for a file.
  std::string KeygenFingerprint(const std::string& name) {
    std::string out = ShellOutput("ssh-keygen -l -E sha256 -f " + (dir_ / name));
    const auto start = out.find("SHA256:");
    if (start == std::string::npos) return "";
    return out.substr(start, out.find(' ', start) - start);
  }
  void KeyGen(const std::string& name, const std::string& type, const std::string& extra = "-N ''") {
    ASSERT_EQ(Sh("ssh-keygen -q -t " + type + " " + extra + " -C '" + name + " comment' -f " + name), 0);
  }

  TempDir dir_;
};

TEST_F(SshTest, PublicKeysMatchSshKeygenFingerprintAndType) {
  struct Case { const char* type; KeyType key; int bits; const char* curve; };
  // 256 for Ed25519: what OpenSSL's EVP_PKEY_get_bits reports, as for certificates.
  const Case cases[] = {{"ed25519", KeyType::kEd25519, 256, ""},
                        {"rsa -b 2048", KeyType::kRsa, 2048, ""},
                        {"ecdsa -b 384", KeyType::kEc, 384, "secp384r1"}};
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.type);
    const std::string name = "k" + std::to_string(n++);
    KeyGen(name, c.type);
    ParsedContent p = MustParse(ReadFile(dir_ / (name + ".pub")));
    EXPECT_EQ(p.format, Format::kOpenSshPublic);
    ASSERT_EQ(p.identities.size(), 1u);
    const Identity& id = p.identities[0];
    EXPECT_EQ(id.kind, Kind::kSshPublicKey);
    EXPECT_EQ(id.fingerprint, KeygenFingerprint(name + ".pub"));
    EXPECT_EQ(id.key.type, c.key);
    EXPECT_EQ(id.key.bits, c.bits);
    EXPECT_EQ(id.key.curve, c.curve);
    EXPECT_EQ(id.key.spki_sha256.size(), 64u);
    EXPECT_EQ(id.ssh->comment, name + " comment");
    EXPECT_EQ(id.position, "line:1");
  }
}

TEST_F(SshTest, SshKeyLinksToTheSameKeyInPkcs8) {
  ASSERT_EQ(Sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem && chmod 600 k.pem"), 0);
  ASSERT_EQ(Sh("ssh-keygen -y -f k.pem > k.pub"), 0);
  ParsedContent pkcs8 = MustParse(ReadFile(dir_ / "k.pem"));
  ParsedContent ssh = MustParse(ReadFile(dir_ / "k.pub"));
  ASSERT_EQ(pkcs8.identities.size(), 1u);
  ASSERT_EQ(ssh.identities.size(), 1u);
  EXPECT_EQ(ssh.identities[0].key.spki_sha256, pkcs8.identities[0].key.spki_sha256);
}

TEST_F(SshTest, AuthorizedKeysKeepsOptionsAndReportsBadLines) {
  KeyGen("a", "ed25519");
  KeyGen("b", "rsa -b 2048");
  const std::string a = ReadFile(dir_ / "a.pub");
  const std::string b = ReadFile(dir_ / "b.pub");
  const std::string file = "# managed by hand\n\n" + a +
                           "command=\"echo a b\",no-pty,from=\"10.0.0.0/8\" " + b +
                           "ssh-ed25519 AAAA!!!bad user@x\n"
                           "this line is not a key\n";
  ParsedContent p = MustParse(file);
  ASSERT_EQ(p.identities.size(), 2u);
  EXPECT_EQ(p.identities[0].position, "line:3");
  EXPECT_EQ(p.identities[0].ssh->options, "");
  EXPECT_EQ(p.identities[1].position, "line:4");
  EXPECT_EQ(p.identities[1].ssh->options, "command=\"echo a b\",no-pty,from=\"10.0.0.0/8\"");
  EXPECT_EQ(p.identities[1].ssh->algorithm, "ssh-rsa");
  EXPECT_EQ(p.identities[1].ssh->comment, "b comment");
  ASSERT_EQ(p.issues.size(), 2u);
  EXPECT_EQ(p.issues[0].position, "line:5");
  EXPECT_EQ(p.issues[1].position, "line:6");
}

TEST_F(SshTest, OpenSshPrivateKeyClearAndEncrypted) {
  KeyGen("clear", "ed25519");
  KeyGen("locked", "ecdsa -b 256", "-N 'pass phrase'");
  ParsedContent clear = MustParse(ReadFile(dir_ / "clear"));
  EXPECT_EQ(clear.format, Format::kOpenSshPrivate);
  ASSERT_EQ(clear.identities.size(), 1u);
  const Identity& c = clear.identities[0];
  EXPECT_EQ(c.kind, Kind::kSshPrivateKey);
  EXPECT_EQ(c.fingerprint, KeygenFingerprint("clear.pub"));
  EXPECT_EQ(c.private_key->format, "openssh");
  EXPECT_FALSE(c.private_key->encrypted);
  EXPECT_EQ(c.private_key->cipher, "none");
  EXPECT_EQ(c.ssh->comment, "clear comment");

  ParsedContent locked = MustParse(ReadFile(dir_ / "locked"));
  ASSERT_EQ(locked.identities.size(), 1u);
  const Identity& l = locked.identities[0];
  EXPECT_EQ(l.fingerprint, KeygenFingerprint("locked.pub"));
  EXPECT_TRUE(l.private_key->encrypted);
  EXPECT_EQ(l.private_key->cipher, "aes256-ctr");
  EXPECT_EQ(l.ssh->comment, "");  // encrypted with the private half
  EXPECT_EQ(l.key.type, KeyType::kEc);
}

TEST_F(SshTest, CertificateFieldsAreRead) {
  KeyGen("ca", "ed25519");
  KeyGen("user", "rsa -b 2048");
  KeyGen("host", "ecdsa -b 256");
  ASSERT_EQ(Sh("ssh-keygen -s ca -I alice@corp -n alice,admin -V 20300101000000Z:20310101000000Z -z 42 "
               "-O no-port-forwarding -O force-command=/bin/true user.pub"), 0);
  ASSERT_EQ(Sh("ssh-keygen -s ca -h -I web1 -n web1.example -z 7 host.pub"), 0);
  ParsedContent p = MustParse(ReadFile(dir_ / "user-cert.pub"));
  ASSERT_EQ(p.identities.size(), 1u);
  const Identity& c = p.identities[0];
  EXPECT_EQ(c.kind, Kind::kSshCertificate);
  // ssh-keygen -l prints the certified key's fingerprint; mica's is the certificate's own.
  const std::string line = ReadFile(dir_ / "user-cert.pub");
  const std::size_t b64 = line.find(' ') + 1;
  auto blob = Base64Decode(line.substr(b64, line.find(' ', b64) - b64));
  ASSERT_TRUE(blob);
  EXPECT_EQ(c.fingerprint, "SHA256:" + Base64Encode(Sha256(*blob), false));
  EXPECT_NE(c.fingerprint, KeygenFingerprint("user-cert.pub"));
  EXPECT_EQ(c.ssh->algorithm, "ssh-rsa-cert-v01@openssh.com");
  EXPECT_EQ(c.ssh->serial, 42u);
  EXPECT_EQ(c.ssh->cert_type, "user");
  EXPECT_EQ(c.ssh->key_id, "alice@corp");
  EXPECT_EQ(c.ssh->principals, (std::vector<std::string>{"alice", "admin"}));
  EXPECT_EQ(c.ssh->valid_after, 1893456000);  // 2030-01-01T00:00:00Z
  EXPECT_EQ(c.ssh->critical_options, (std::vector<std::string>{"force-command"}));
  EXPECT_NE(std::find(c.ssh->extensions.begin(), c.ssh->extensions.end(), "permit-pty"),
            c.ssh->extensions.end());
  EXPECT_EQ(std::find(c.ssh->extensions.begin(), c.ssh->extensions.end(), "permit-port-forwarding"),
            c.ssh->extensions.end());
  EXPECT_EQ(c.ssh->ca_fingerprint, KeygenFingerprint("ca.pub"));
  // The certified key is the user's key.
  ParsedContent user = MustParse(ReadFile(dir_ / "user.pub"));
  EXPECT_EQ(c.key.spki_sha256, user.identities.at(0).key.spki_sha256);

  ParsedContent h = MustParse(ReadFile(dir_ / "host-cert.pub"));
  ASSERT_EQ(h.identities.size(), 1u);
  EXPECT_EQ(h.identities[0].ssh->cert_type, "host");
  EXPECT_EQ(h.identities[0].ssh->valid_before, INT64_MAX);  // "forever"
}

TEST_F(SshTest, Rfc4716PublicKeyFile) {
  KeyGen("k", "ed25519");
  ASSERT_EQ(Sh("ssh-keygen -e -f k.pub > k.ssh2"), 0);
  ParsedContent p = MustParse(ReadFile(dir_ / "k.ssh2"));
  ASSERT_EQ(p.identities.size(), 1u);
  EXPECT_EQ(p.identities[0].fingerprint, KeygenFingerprint("k.pub"));
}

TEST_F(SshTest, PuttyKeysV2AndV3ClearAndEncrypted) {
  KeyGen("k", "ed25519");
  WriteFile(dir_ / "pass", "secret\n");
  ASSERT_EQ(Sh("puttygen k -O private -C putty-comment -o v3.ppk"), 0);
  ASSERT_EQ(Sh("puttygen k -O private --ppk-param version=2 -o v2.ppk"), 0);
  ASSERT_EQ(Sh("puttygen k -O private --new-passphrase pass -o enc.ppk"), 0);
  const std::string fp = KeygenFingerprint("k.pub");
  for (const char* name : {"v3.ppk", "v2.ppk", "enc.ppk"}) {
    SCOPED_TRACE(name);
    const std::string data = ReadFile(dir_ / name);
    EXPECT_EQ(Sniff(AsBytes(data)), Format::kPpk);
    ParsedContent p = MustParse(data);
    ASSERT_EQ(p.identities.size(), 1u);
    const Identity& id = p.identities[0];
    EXPECT_EQ(id.kind, Kind::kSshPrivateKey);
    EXPECT_EQ(id.fingerprint, fp);
    EXPECT_EQ(id.private_key->format, "ppk");
    EXPECT_EQ(id.key.type, KeyType::kEd25519);
  }
  ParsedContent v3 = MustParse(ReadFile(dir_ / "v3.ppk"));
  EXPECT_EQ(v3.identities.at(0).ssh->comment, "putty-comment");
  EXPECT_FALSE(v3.identities.at(0).private_key->encrypted);
  ParsedContent enc = MustParse(ReadFile(dir_ / "enc.ppk"));
  EXPECT_TRUE(enc.identities.at(0).private_key->encrypted);
  EXPECT_EQ(enc.identities.at(0).private_key->cipher, "aes256-cbc");
}

TEST_F(SshTest, TruncatedAndMalformedSshInputsAreIssues) {
  KeyGen("k", "rsa -b 2048");
  const std::string pub = ReadFile(dir_ / "k.pub");
  // A blob cut short (still valid base64).
  const std::size_t b64 = pub.find("AAAA");
  ParsedContent cut = MustParse(pub.substr(0, b64 + 40) + "\n");
  EXPECT_TRUE(cut.identities.empty());
  ASSERT_EQ(cut.issues.size(), 1u);
  EXPECT_EQ(cut.issues[0].position, "line:1");

  // The line says ed25519 but the blob is RSA.
  ParsedContent mismatch = MustParse("ssh-ed25519 " + pub.substr(b64));
  EXPECT_TRUE(mismatch.identities.empty());
  ASSERT_EQ(mismatch.issues.size(), 1u);

  // OpenSSH private key cut at every 97th byte of its body.
  const std::string priv = ReadFile(dir_ / "k");
  const std::string body = priv.substr(priv.find('\n') + 1);
  for (std::size_t len = 0; len < 400; len += 97) {
    ParsedContent p = MustParse("-----BEGIN OPENSSH PRIVATE KEY-----\n" + body.substr(0, len) +
                                "\n-----END OPENSSH PRIVATE KEY-----\n");
    EXPECT_TRUE(p.identities.empty());
    EXPECT_EQ(p.issues.size(), 1u);
  }

  // PPK claiming absurd or missing public lines.
  for (const char* bad : {"PuTTY-User-Key-File-3: ssh-rsa\nPublic-Lines: 999999\nAAAA\n",
                          "PuTTY-User-Key-File-3: ssh-rsa\nPublic-Lines: 3\nAAAA\n",
                          "PuTTY-User-Key-File-9: ssh-rsa\n",
                          "PuTTY-User-Key-File-2: ssh-rsa\nPublic-Lines: 1\nAAAAB3NzaC1yc2E=\n"}) {
    SCOPED_TRACE(bad);
    ParsedContent p = MustParse(bad);
    EXPECT_TRUE(p.identities.empty());
    ASSERT_EQ(p.issues.size(), 1u);
    EXPECT_EQ(p.issues[0].position, "ppk");
  }
}

}  // namespace
}  // namespace mica::x509
