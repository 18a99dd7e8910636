// Readers of access-event inputs and endpoint inventories (docs/PEOPLE.md "Inputs").
//
// Each reader turns one line into a store::AccessEvent (or a Device) or says why it
// cannot, with the reason only: the caller prefixes "file:line". They are pure and hold
// per-reader scratch buffers, so use one reader per thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "people/internal/flat_json.h"
#include "store/people.h"

namespace mica::people {

enum class EventFormat {
  kMica,     // JSON lines in mica's schema (time, person, source_ip, device, ...)
  kJson,     // JSON lines with configurable field names (FieldMap)
  kAuthLog,  // OpenSSH lines of a syslog auth.log
};
[[nodiscard]] Result<EventFormat> ParseEventFormat(std::string_view name);

// For kJson: where each field of mica's schema is found in the input, as a dotted path
// ("client.ipAddress", "actor.alternateId"). Unset fields keep mica's names.
struct FieldMap {
  std::map<std::string, std::string> paths;  // mica field -> input path
  // Parses "person=actor.alternateId"; kInvalidArgument for an unknown mica field.
  [[nodiscard]] Status Add(std::string_view spec);
};

// What a line became: an event, or a line that carries none (a comment, an auth.log line
// that is not a login), or an error.
enum class LineResult { kEvent, kSkip, kError };

class EventReader {
 public:
  // `year` is the year of syslog timestamps that carry none ("Nov 20 09:00:01").
  EventReader(EventFormat format, FieldMap fields = {}, int year = 1970);

  // On kError, error() holds the reason.
  LineResult Read(std::string_view line, store::AccessEvent& out);
  const std::string& error() const { return error_; }

 private:
  LineResult ReadMica(std::string_view line, store::AccessEvent& out);
  LineResult ReadJson(std::string_view line, store::AccessEvent& out);
  LineResult ReadAuthLog(std::string_view line, store::AccessEvent& out);
  LineResult Error(std::string why);

  EventFormat format_;
  FieldMap fields_;
  int year_;
  internal::FlatJson json_;
  std::string error_;
};

// The action classes risk signals look at. Actions are free text in "kind.verb" form
// ("sso.login", "vpn.connect", "ssh.login", "git.push", "sign.request", "issue.request");
// the kind decides.
bool IsInteractive(std::string_view action);  // sso, vpn, ssh, login, rdp, sign, issue
bool IsSensitive(std::string_view action);    // sign, ssh, issue

// One endpoint inventory report (a JSON object per line, docs/PEOPLE.md):
// {"device":"LT-1","person":"p1","serial":"C02X","managed":true,
//  "software":["AnyDesk 7.1"],"usb":[{"class":"03","vendor":"1d6b","product":"0104",
//  "name":"Multifunction Composite Gadget"}],"monitors":["PiKVM"],"reported_at":"..."}
[[nodiscard]] Result<store::Device> ParseDeviceLine(std::string_view line);

}  // namespace mica::people
