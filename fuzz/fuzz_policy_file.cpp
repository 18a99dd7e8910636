// libFuzzer entry point for the policy file (TOML): any text is a policy or an error
// that names the input; never a crash, whatever the keys, types and values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/policy_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto policy = mica::policy::ParsePolicy(text, "fuzz.toml");
  if (!policy && policy.error().message.find("fuzz.toml") == std::string::npos) std::abort();
  return 0;
}
