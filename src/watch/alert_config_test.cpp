#include "watch/alert_config.h"

#include <gtest/gtest.h>

#include <string>

#include "fixtures.h"

namespace mica::watch {
namespace {

using mica::testing::TempDir;
using mica::testing::WriteFile;

// Parses `text` as a whole mica.toml and hands its [alert] table to ParseAlertConfig.
Result<AlertConfig> Parse(const std::string& text) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view("mica.toml"));
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kInput, std::string("bad TOML in test: ") + std::string(e.description()));
  }
  const toml::table* alert = root["alert"].as_table();
  if (!alert) return AlertConfig{};
  return ParseAlertConfig(*alert, "mica.toml");
}

std::string ErrorOf(const std::string& text) {
  auto c = Parse(text);
  EXPECT_FALSE(c) << text;
  return c ? "" : c.error().message;
}

TEST(AlertConfigTest, ReadsEverySinkTypeWithDefaults) {
  TempDir dir;
  WriteFile(dir / "hook.secret", "s3cret-value\n");
  WriteFile(dir / "smtp.pw", "pw\n");
  auto c = Parse(R"(
[[alert.sink]]
name = "out"
type = "jsonl"

[[alert.sink]]
name = "hook"
type = "webhook"
url = "https://hooks.example.test/mica"
secret_file = ")" + (dir / "hook.secret") + R"("
timeout = "2500ms"
headers = { "X-Team" = "pki" }
min_severity = "medium"
events = ["issuer_*", "private_key_*"]
owners = ["*@example.test"]
initial_backoff = "10s"
max_backoff = "10m"
give_up_after = "2d"

[[alert.sink]]
name = "log"
type = "syslog"
address = "udp://127.0.0.1:5514"
facility = "local3"

[[alert.sink]]
name = "mail"
type = "smtp"
url = "smtp://127.0.0.1:2525"
from = "mica@example.test"
to = ["pki@example.test", "ops@example.test"]
starttls = "optional"
username = "mica"
password_file = ")" + (dir / "smtp.pw") + R"("
digest = "1h"
)");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->sinks.size(), 4u);
  const SinkConfig& out = c->sinks[0];
  EXPECT_EQ(out.type, SinkType::kJsonl);
  EXPECT_EQ(out.jsonl.path, "-");
  EXPECT_EQ(out.rule.min_severity, "info");
  EXPECT_EQ(out.retry.initial_backoff, 30);
  EXPECT_EQ(out.retry.max_backoff, 3600);
  EXPECT_EQ(out.retry.give_up_after, 86'400);
  EXPECT_EQ(out.digest_interval, 0);

  const SinkConfig& hook = c->sinks[1];
  EXPECT_EQ(hook.type, SinkType::kWebhook);
  EXPECT_EQ(hook.webhook.secret.value(), "s3cret-value");  // the final newline is not part of it
  EXPECT_EQ(hook.webhook.timeout_ms, 2500);
  EXPECT_EQ(hook.webhook.headers.at("X-Team"), "pki");
  EXPECT_EQ(hook.rule.min_severity, "medium");
  EXPECT_EQ(hook.rule.events.size(), 2u);
  EXPECT_EQ(hook.retry.initial_backoff, 10);
  EXPECT_EQ(hook.retry.max_backoff, 600);
  EXPECT_EQ(hook.retry.give_up_after, 2 * 86'400);

  const SinkConfig& log = c->sinks[2];
  EXPECT_EQ(log.syslog.transport, SyslogTransport::kUdp);
  EXPECT_EQ(log.syslog.host, "127.0.0.1");
  EXPECT_EQ(log.syslog.port, 5514);
  EXPECT_EQ(log.syslog.facility, 19);
  EXPECT_EQ(log.syslog.app_name, "mica");

  const SinkConfig& mail = c->sinks[3];
  EXPECT_EQ(mail.smtp.to.size(), 2u);
  EXPECT_EQ(mail.smtp.starttls, StartTls::kOptional);
  EXPECT_EQ(mail.smtp.password.value(), "pw");
  EXPECT_EQ(mail.digest_interval, 3600);
}

TEST(AlertConfigTest, NoSectionMeansNoSinks) {
  auto c = Parse("[store]\ndb = \"x.db\"\n");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->sinks.empty());
}

TEST(AlertConfigTest, UnknownKeysAreNamedWithTheirPosition) {
  EXPECT_EQ(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\nurl = \"http://x\"\n"),
            "mica.toml:4:1: unknown setting 'url' for a jsonl sink (see docs/ALERTS.md)");
  EXPECT_EQ(ErrorOf("[alert]\nsinks = []\n"),
            "mica.toml:2:1: unknown setting 'alert.sinks' (see docs/ALERTS.md)");
  // A webhook setting on a syslog sink is unknown there.
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"syslog\"\nsecret = \"x\"\n")
                .find("unknown setting 'secret' for a syslog sink"),
            std::string::npos);
}

TEST(AlertConfigTest, WrongTypesAreNamedWithTheirPosition) {
  EXPECT_EQ(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\ninitial_backoff = 30\n"),
            "mica.toml:4:19: alert.sink[0].initial_backoff must be a string");
  EXPECT_EQ(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\nevents = \"identity_added\"\n"),
            "mica.toml:4:10: alert.sink[0].events must be an array of strings");
  EXPECT_EQ(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\nevents = [\"a\", 3]\n"),
            "mica.toml:4:16: alert.sink[0].events must hold only strings");
  EXPECT_EQ(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\nbatch = \"10\"\n"),
            "mica.toml:4:9: alert.sink[0].batch must be an integer");
  EXPECT_EQ(ErrorOf("[alert]\nsink = 3\n"),
            "mica.toml:2:8: alert.sink must be an array of tables ([[alert.sink]])");
}

TEST(AlertConfigTest, BadValuesAreRejected) {
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"pager\"\n").find("'pager' is not a sink type"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\ntype = \"jsonl\"\n").find("has no name"), std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"a b\"\ntype = \"jsonl\"\n").find("must be 1-64"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"a\"\n").find("has no type"), std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\n"
                    "[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\n")
                .find("mica.toml:5:8: sink name 'a' is used twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\nmin_severity = \"urgent\"\n")
                .find("'urgent' is not one of info, low, medium, high, critical"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\ngive_up_after = \"soon\"\n")
                .find("mica.toml:4:17: alert.sink[0].give_up_after 'soon'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\ninitial_backoff = \"1h\"\n"
                    "max_backoff = \"1m\"\n")
                .find("is shorter than initial_backoff"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"a\"\ntype = \"jsonl\"\ndigest = \"10s\"\n")
                .find("out of range"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"h\"\ntype = \"webhook\"\n").find("needs a url"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"ftp://x\"\n")
                .find("must start with http:// or https://"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"http://x\"\n"
                    "headers = { \"Idempotency-Key\" = \"1\" }\n")
                .find("may not set Idempotency-Key"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"s\"\ntype = \"syslog\"\naddress = \"udp://h:99999\"\n")
                .find("has a bad port"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"s\"\ntype = \"syslog\"\naddress = \"h:514\"\n")
                .find("must be a socket path, udp://host:port or tcp://host:port"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"s\"\ntype = \"syslog\"\nfacility = \"mars\"\n")
                .find("'mars' is not a syslog facility"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"m\"\ntype = \"smtp\"\nurl = \"smtp://h\"\n"
                    "from = \"a@b\"\n")
                .find("needs at least one address in to"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"m\"\ntype = \"smtp\"\nurl = \"smtp://h\"\n"
                    "from = \"a@b\"\nto = [\"x@y\"]\nstarttls = \"never\"\n")
                .find("must be required or optional"),
            std::string::npos);
}

TEST(AlertConfigTest, SyslogAddresses) {
  auto c = Parse(
      "[[alert.sink]]\nname = \"t\"\ntype = \"syslog\"\naddress = \"tcp://[::1]\"\n"
      "[[alert.sink]]\nname = \"u\"\ntype = \"syslog\"\naddress = \"/run/log.sock\"\n"
      "[[alert.sink]]\nname = \"d\"\ntype = \"syslog\"\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->sinks[0].syslog.transport, SyslogTransport::kTcp);
  EXPECT_EQ(c->sinks[0].syslog.host, "::1");
  EXPECT_EQ(c->sinks[0].syslog.port, 601);  // RFC 6587's port when none is given
  EXPECT_EQ(c->sinks[1].syslog.transport, SyslogTransport::kUnix);
  EXPECT_EQ(c->sinks[1].syslog.path, "/run/log.sock");
  EXPECT_EQ(c->sinks[2].syslog.path, "/dev/log");
  EXPECT_EQ(c->sinks[2].syslog.facility, 4);
}

TEST(AlertConfigTest, SecretsNeverAppearInErrors) {
  TempDir dir;
  const std::string text =
      "[[alert.sink]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"http://x\"\n"
      "secret = \"hunter2-secret\"\ntimeout = \"forever\"\n";
  const std::string e = ErrorOf(text);
  EXPECT_NE(e.find("timeout"), std::string::npos);
  EXPECT_EQ(e.find("hunter2"), std::string::npos);
  // Both forms at once is a mistake, and an unreadable or empty file is named.
  WriteFile(dir / "pw", "hunter2-secret");
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"http://x\"\n"
                    "secret = \"a\"\nsecret_file = \"" + (dir / "pw") + "\"\n")
                .find("and secret are both set"),
            std::string::npos);
  const std::string missing = ErrorOf(
      "[[alert.sink]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"http://x\"\nsecret_file = \"" +
      (dir / "nope") + "\"\n");
  EXPECT_NE(missing.find("cannot read the secret file " + (dir / "nope")), std::string::npos);
  WriteFile(dir / "empty", "\n");
  EXPECT_NE(ErrorOf("[[alert.sink]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"http://x\"\n"
                    "secret_file = \"" + (dir / "empty") + "\"\n")
                .find("is empty"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("[[alert.sink]]\nname = \"m\"\ntype = \"smtp\"\nurl = \"smtp://h\"\n"
                    "from = \"a@b\"\nto = [\"x@y\"]\npassword_file = \"" + (dir / "pw") +
                    "\"\nbogus = 1\n")
                .find("hunter2"),
            std::string::npos);
}

store::Event Ev(const std::string& type, const std::string& severity, const std::string& owner) {
  store::Event e;
  e.id = 1;
  e.type = type;
  e.severity = severity;
  e.owner = owner;
  return e;
}

TEST(RoutingTest, SeverityTypesOwnersAndTags) {
  RoutingRule r;
  r.min_severity = "medium";
  EXPECT_FALSE(Matches(r, Ev("identity_added", "low", ""), {}));
  EXPECT_TRUE(Matches(r, Ev("identity_added", "medium", ""), {}));
  EXPECT_TRUE(Matches(r, Ev("identity_added", "critical", ""), {}));
  // An unknown severity counts as the highest: never lost.
  EXPECT_TRUE(Matches(r, Ev("identity_added", "bogus", ""), {}));

  r.events = {"issuer_*", "private_key_exposed"};
  EXPECT_TRUE(Matches(r, Ev("issuer_changed", "high", ""), {}));
  EXPECT_TRUE(Matches(r, Ev("private_key_exposed", "high", ""), {}));
  EXPECT_FALSE(Matches(r, Ev("identity_removed", "high", ""), {}));

  r.owners = {"*@pki.example.test"};
  EXPECT_TRUE(Matches(r, Ev("issuer_changed", "high", "ana@pki.example.test"), {}));
  EXPECT_FALSE(Matches(r, Ev("issuer_changed", "high", "bob@web.example.test"), {}));
  EXPECT_FALSE(Matches(r, Ev("issuer_changed", "high", ""), {}));

  RoutingRule tagged;
  tagged.tags = {"prod"};
  const store::Event e = Ev("identity_added", "info", "");
  EXPECT_FALSE(Matches(tagged, e, {}));  // nobody knows tags: no match
  EXPECT_TRUE(Matches(tagged, e, [](const store::Event&) {
    return std::vector<std::string>{"dev", "prod"};
  }));
  EXPECT_FALSE(Matches(tagged, e, [](const store::Event&) {
    return std::vector<std::string>{"dev"};
  }));
}

TEST(RoutingTest, DigestSinksRouteByOwner) {
  SinkConfig plain;
  plain.rule.min_severity = "low";
  auto route = MakeRoute(plain, {});
  EXPECT_EQ(route(Ev("x", "info", "a")), std::nullopt);
  EXPECT_EQ(route(Ev("x", "low", "a")), std::optional<std::string>(""));
  SinkConfig digest;
  digest.digest_interval = 3600;
  auto by_owner = MakeRoute(digest, {});
  EXPECT_EQ(by_owner(Ev("x", "info", "ana@example.test")),
            std::optional<std::string>("ana@example.test"));
  EXPECT_EQ(by_owner(Ev("x", "info", "")), std::optional<std::string>("unowned"));
}

}  // namespace
}  // namespace mica::watch
