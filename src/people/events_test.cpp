#include "people/events.h"

#include <gtest/gtest.h>

#include "people/hr_import.h"
#include "people/internal/flat_json.h"

namespace mica::people {
namespace {

TEST(FlatJsonTest, ParsesMembersAndEscapes) {
  internal::FlatJson j;
  ASSERT_TRUE(j.Parse(R"( {"a":"x\"y\u00e9\ud83d\ude00","b":12.5,"c":true,"d":null,"e":{"n":[1,"]"]}} )"))
      << j.error();
  ASSERT_EQ(j.members().size(), 5u);
  EXPECT_EQ(j.Find("a")->value, "x\"y\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(j.Find("b")->type, internal::JsonType::kNumber);
  EXPECT_EQ(j.Find("c")->type, internal::JsonType::kBool);
  EXPECT_EQ(j.Find("d")->type, internal::JsonType::kNull);
  EXPECT_EQ(j.Find("e")->type, internal::JsonType::kNested);
  EXPECT_EQ(j.Find("e")->value, R"({"n":[1,"]"]})");
}

TEST(FlatJsonTest, RejectsMalformedWithPosition) {
  internal::FlatJson j;
  for (const char* bad : {"", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":\"x}",
                          "{\"a\":1} x", "{\"a\":tru}", "{\"a\":\"\\q\"}"}) {
    EXPECT_FALSE(j.Parse(bad)) << bad;
    EXPECT_NE(j.error().find("at byte"), std::string::npos) << bad;
  }
  std::string deep(200, '[');
  EXPECT_FALSE(j.Parse("{\"a\":" + deep + "}"));
}

TEST(EventReaderTest, MicaSchema) {
  EventReader r(EventFormat::kMica);
  store::AccessEvent e;
  ASSERT_EQ(r.Read(R"({"time":"2026-11-20T09:00:00Z","person":"p1","source_ip":"192.0.2.1",
      "device":"LT-1","user_agent":"UA","action":"sso.login","target":"SHA256:k","mfa_device":"y1",
      "session":"s1","source":"okta"})", e), LineResult::kEvent) << r.error();
  EXPECT_EQ(e.at, 1795165200);
  EXPECT_EQ(e.person, "p1");
  EXPECT_EQ(e.source_ip, "192.0.2.1");
  EXPECT_EQ(e.target, "SHA256:k");
  EXPECT_EQ(e.session, "s1");
  ASSERT_EQ(r.Read(R"({"time":1795165200123,"person":"p1","action":"vpn.connect"})", e),
            LineResult::kEvent);
  EXPECT_EQ(e.at, 1795165200);
  EXPECT_EQ(r.Read("", e), LineResult::kSkip);
  EXPECT_EQ(r.Read("# comment", e), LineResult::kSkip);
  EXPECT_EQ(r.Read(R"({"person":"p1","action":"x"})", e), LineResult::kError);
  EXPECT_NE(r.error().find("time"), std::string::npos);
  EXPECT_EQ(r.Read(R"({"time":"yesterday","person":"p1","action":"x"})", e), LineResult::kError);
  EXPECT_EQ(r.Read(R"({"time":"2026-11-20","person":5,"action":"x"})", e), LineResult::kError);
  EXPECT_EQ(r.Read("not json", e), LineResult::kError);
}

TEST(EventReaderTest, GenericJsonWithFieldPaths) {
  FieldMap m;
  ASSERT_TRUE(m.Add("person=actor.alternateId"));
  ASSERT_TRUE(m.Add("time=published"));
  ASSERT_TRUE(m.Add("source_ip=client.ipAddress"));
  ASSERT_TRUE(m.Add("action=eventType"));
  EXPECT_FALSE(m.Add("nonsense=x"));
  EXPECT_FALSE(m.Add("person"));
  EventReader r(EventFormat::kJson, m);
  store::AccessEvent e;
  ASSERT_EQ(r.Read(R"({"published":"2026-11-20T09:00:00.123Z","eventType":"user.session.start",
      "actor":{"alternateId":"alice@example.com"},"client":{"ipAddress":"198.51.100.4"}})", e),
            LineResult::kEvent) << r.error();
  EXPECT_EQ(e.person, "alice@example.com");
  EXPECT_EQ(e.source_ip, "198.51.100.4");
  EXPECT_EQ(e.action, "user.session.start");
  EXPECT_EQ(r.Read(R"({"published":"2026-11-20T09:00:00Z","eventType":"x"})", e), LineResult::kError);
  EXPECT_NE(r.error().find("actor.alternateId"), std::string::npos) << r.error();
}

TEST(EventReaderTest, OpenSshAuthLog) {
  EventReader r(EventFormat::kAuthLog, {}, 2026);
  store::AccessEvent e;
  ASSERT_EQ(r.Read("Nov 20 09:00:01 bastion sshd[1234]: Accepted publickey for alice from "
                   "203.0.113.5 port 52100 ssh2: ED25519 SHA256:AbCdEf0123",
                   e),
            LineResult::kEvent)
      << r.error();
  EXPECT_EQ(e.at, 1795165201);
  EXPECT_EQ(e.person, "alice");
  EXPECT_EQ(e.source_ip, "203.0.113.5");
  EXPECT_EQ(e.device, "bastion");
  EXPECT_EQ(e.action, "ssh.login");
  EXPECT_EQ(e.target, "SHA256:AbCdEf0123");
  ASSERT_EQ(r.Read("2026-11-20T09:00:01.5+00:00 web1 sshd[9]: Accepted password for bob from "
                   "2001:db8::1 port 4022 ssh2",
                   e),
            LineResult::kEvent);
  EXPECT_EQ(e.person, "bob");
  EXPECT_EQ(e.source_ip, "2001:db8::1");
  EXPECT_EQ(e.target, "");
  EXPECT_EQ(r.Read("Nov 20 09:00:02 bastion sshd[1234]: Failed password for root from 1.2.3.4 "
                   "port 1 ssh2",
                   e),
            LineResult::kSkip);
  EXPECT_EQ(r.Read("Nov 20 09:00:02 bastion CRON[5]: pam_unix(cron:session): session opened", e),
            LineResult::kSkip);
  EXPECT_EQ(r.Read("Foo 99 99:00:02 bastion sshd[1]: Accepted", e), LineResult::kError);
  EXPECT_EQ(r.Read("Nov 20 09:00:02 bastion sshd[1]: Accepted publickey for", e),
            LineResult::kError);
}

TEST(EventReaderTest, ActionClasses) {
  EXPECT_TRUE(IsInteractive("sso.login"));
  EXPECT_TRUE(IsInteractive("sign.request"));
  EXPECT_FALSE(IsInteractive("git.push"));
  EXPECT_FALSE(IsInteractive("ssomething"));
  EXPECT_TRUE(IsSensitive("issue.request"));
  EXPECT_FALSE(IsSensitive("sso.login"));
}

TEST(DeviceLineTest, ParsesInventory) {
  auto d = ParseDeviceLine(R"({"device":"LT-1","person":"p1","serial":"C02","managed":false,
      "software":["AnyDesk 8",{"name":"Slack"}],"usb":[{"class":"03","vendor":"1d6b",
      "product":"0104","name":"Gadget"}],"monitors":["PiKVM"],"reported_at":"2026-11-20T00:00:00Z"})");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->id, "LT-1");
  EXPECT_FALSE(d->managed);
  EXPECT_EQ(d->software.size(), 2u);
  ASSERT_EQ(d->usb.size(), 1u);
  EXPECT_EQ(d->usb[0].vendor, "1d6b");
  EXPECT_EQ(d->monitors[0], "PiKVM");
  EXPECT_FALSE(ParseDeviceLine(R"({"person":"p1"})"));
  EXPECT_FALSE(ParseDeviceLine(R"({"device":"x","usb":"nope"})"));
  EXPECT_FALSE(ParseDeviceLine(R"({"device":"x","managed":"yes"})"));
  EXPECT_FALSE(ParseDeviceLine("[1,2]"));
}

TEST(HrImportTest, CsvHashesSensitiveValues) {
  auto people = ParsePeople(
      "id,name,type,country,timezone,phone,payment_account,address,resume_hash,extra\n"
      "p1,Ann,contractor,us,America/New_York,+1 (555) 010-0199,nl91 abna 0417,\"1 Main St, "
      "Springfield\",,ignored\n"
      "p2,Bob,,DE,+01:00,+15550100199,NL91ABNA0417,1 MAIN ST SPRINGFIELD," +
          std::string(64, 'a') + ",\n",
      "hr.csv");
  ASSERT_TRUE(people) << people.error().message;
  ASSERT_EQ(people->size(), 2u);
  const auto& a = (*people)[0];
  const auto& b = (*people)[1];
  EXPECT_EQ(a.country, "US");
  EXPECT_EQ(a.type, "contractor");
  EXPECT_EQ(b.type, "employee");
  EXPECT_EQ(a.phone_hash.size(), 64u);
  EXPECT_EQ(a.phone_hash, b.phone_hash);      // normalised alike
  EXPECT_EQ(a.payment_hash, b.payment_hash);
  EXPECT_EQ(a.address_hash, b.address_hash);
  EXPECT_EQ(b.resume_hash, std::string(64, 'a'));
  EXPECT_EQ(a.phone_hash.find("555"), std::string::npos);  // never the raw value
}

TEST(HrImportTest, JsonFormsAndErrors) {
  auto arr = ParsePeople(R"([{"id":"p1","country":"US"},{"id":"p2","phone":"+1 555"}])", "hr.json");
  ASSERT_TRUE(arr) << arr.error().message;
  EXPECT_EQ(arr->size(), 2u);
  auto wrapped = ParsePeople(R"({"people":[{"id":"p1"}]})", "hr.json");
  ASSERT_TRUE(wrapped);
  auto lines = ParsePeople("{\"id\":\"p1\"}\n{\"id\":\"p2\"}\n", "hr.jsonl");
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(lines->size(), 2u);

  auto bad_type = ParsePeople("id,type\np1,pirate\n", "hr.csv");
  ASSERT_FALSE(bad_type);
  EXPECT_NE(bad_type.error().message.find("hr.csv:2"), std::string::npos) << bad_type.error().message;
  auto dup = ParsePeople("id\np1\np1\n", "hr.csv");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("twice"), std::string::npos);
  EXPECT_FALSE(ParsePeople("name\nAnn\n", "hr.csv"));
  EXPECT_FALSE(ParsePeople("id,name\np1\n", "hr.csv"));
  EXPECT_FALSE(ParsePeople("id,timezone\np1,Mars/Olympus\n", "hr.csv"));
  EXPECT_FALSE(ParsePeople("id,payment_hash\np1,xyz\n", "hr.csv"));
  EXPECT_FALSE(ParsePeople("id,name\np1,\"unterminated\n", "hr.csv"));
  auto bad_json = ParsePeople("{\"id\":\"p1\"}\n{oops\n", "hr.jsonl");
  ASSERT_FALSE(bad_json);
  EXPECT_NE(bad_json.error().message.find("hr.jsonl:2"), std::string::npos);
}

TEST(HrImportTest, TimezoneOffsets) {
  EXPECT_EQ(TimezoneOffsetMinutes("America/New_York"), -300);
  EXPECT_EQ(TimezoneOffsetMinutes("UTC+5:30"), 330);
  EXPECT_EQ(TimezoneOffsetMinutes("-08:00"), -480);
  EXPECT_EQ(TimezoneOffsetMinutes("UTC"), 0);
  EXPECT_FALSE(TimezoneOffsetMinutes("Mars/Olympus"));
  EXPECT_FALSE(TimezoneOffsetMinutes("+99"));
}

}  // namespace
}  // namespace mica::people
