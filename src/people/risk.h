// Risk signals and scoring (docs/PEOPLE.md "Signals").
//
// Score() is pure: it reads the aggregates of one window (store::RiskInput) and returns,
// per person, the signals that fired, each with its points, an explanation and the
// evidence a human can check. A signal counts once per person however often it fired;
// its evidence lists the occurrences. The score is the sum of the points.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/time.h"
#include "store/people.h"

namespace mica::people {

struct RiskConfig {
  // signal name -> points; DefaultWeights() lists every signal.
  std::map<std::string, double> weights;
  double threshold = 60;
  std::int64_t window = 7 * 86400;           // the rolling window scored
  std::int64_t payment_window = 90 * 86400;  // how far back payment changes count
  double travel_speed_kmh = 900;             // faster than an airliner between two events
  double travel_min_km = 500;                // geolocation noise below this is ignored
  int many_countries = 3;                    // distinct countries in one UTC day
  std::vector<std::string> high_risk_countries = {"KP", "CN", "RU"};
  double off_hours_share = 0.5;   // share of events in the declared zone's 22:00-06:00
  std::int64_t off_hours_min_events = 10;
  std::int64_t long_session = 24 * 3600;
  int day_hours_max = 20;         // active in more hours than this in one UTC day
  int payment_changes = 2;        // this many changes in payment_window
  std::vector<std::string> risky_payment_types = {"virtual_currency", "crypto", "foreign"};
  double referral_share = 0.5;    // of the referrer's score, when the referrer is at risk
  std::vector<std::string> remote_tools = {
      "anydesk", "teamviewer", "chrome remote desktop", "rustdesk", "splashtop", "logmein",
      "realvnc", "tightvnc", "ultravnc", "tigervnc", "parsec", "ammyy", "supremo",
      "screenconnect", "connectwise control", "remotepc", "zoho assist", "dwservice",
      "netsupport", "meshagent", "getscreen", "aeroadmin", "remoteutilities", "nomachine"};
  // Names of IP-KVM hardware as USB product names or monitor (EDID) names.
  std::vector<std::string> kvm_names = {"pikvm", "tinypilot", "ip-kvm", "ipkvm", "blikvm",
                                        "nanokvm", "jetkvm", "kvm over ip", "lantronix spider",
                                        "raritan"};
  // USB vendor:product pairs of the Linux USB gadget that PiKVM, TinyPilot and similar
  // boards present (a composite HID keyboard + mouse) when seen with class 03 (HID).
  std::vector<std::string> kvm_usb_ids = {"1d6b:0104"};

  // Where `mica intel load` installs sets ("" : next to the inventory, <db>.intel).
  std::string intel_dir;

  static std::map<std::string, double> DefaultWeights();
  double Weight(const std::string& signal) const;
};

RiskConfig DefaultRiskConfig();

// Reads the [people] section of the mica.toml at `path` over the defaults ("" or a file
// without the section: defaults). Unknown keys and wrong types are kInput errors naming
// file:line:column.
[[nodiscard]] Result<RiskConfig> LoadRiskConfig(const std::string& path);

// Scores every person of `input`. Sorted by score, highest first, then by id.
std::vector<store::RiskScore> Score(const store::RiskInput& input, const RiskConfig& config,
                                    UnixSeconds now);

// The window ending at `now` that `config` scores, and where payment changes start.
struct Window {
  UnixSeconds from = 0, to = 0, changes_from = 0;
};
Window WindowFor(const RiskConfig& config, UnixSeconds now);

// Endpoint inventory checks, exposed for tests: the matching software entry / USB device /
// monitor, or "".
std::string FindRemoteTool(const store::Device& device, const RiskConfig& config);
std::string FindKvm(const store::Device& device, const RiskConfig& config);

}  // namespace mica::people
