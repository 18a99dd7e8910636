// Reading an HR export (docs/PEOPLE.md "People"): CSV with a header row, or JSON (an
// array of objects, {"people": [...]}, or one object per line).
//
// Columns by name: id (required), name, email, type (employee | contractor | vendor),
// country (ISO alpha-2), city, timezone, manager, start_date, payment_type, referred_by,
// laptop_serial, and the sensitive ones either raw (phone, payment_account, address,
// resume, shipping_address: hashed here, the raw value is dropped) or already hashed
// (phone_hash, payment_hash, address_hash, resume_hash, shipping_address_hash: 64 hex).
// Other columns are ignored. Errors name the input, the line (CSV, JSON lines) or the
// record index, and the column.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/people.h"

namespace mica::people {

// Parses `text` (the content of `name`); the format is JSON when the first non-blank
// character is '[' or '{', CSV otherwise.
[[nodiscard]] Result<std::vector<store::Person>> ParsePeople(std::string_view text,
                                                             const std::string& name);

// SHA-256 (hex) of a sensitive value after normalisation, so that "+1 (555) 010-0199" and
// "+15550100199" hash alike: phone keeps digits and a leading '+'; payment_account keeps
// letters and digits, upper-cased; address, shipping_address and resume are lower-cased
// with runs of punctuation and white space collapsed to one space.
std::string HashSensitive(std::string_view field, std::string_view raw);

// Minutes east of UTC for a declared time zone: "UTC", "+05:30", "UTC-5", "GMT+8", or an
// IANA name from a built-in table of standard offsets (daylight saving is ignored: the
// hours signal tolerates an hour). nullopt when unknown.
std::optional<int> TimezoneOffsetMinutes(std::string_view tz);

}  // namespace mica::people
