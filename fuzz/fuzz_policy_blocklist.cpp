// libFuzzer entry point for the weak-key blocklist loader: text lists (SPKI SHA-256,
// Debian openssl-blacklist) and badkeys' binary blocklist.dat. The bytes are given to
// Blocklist::Load as a file (an in-memory one, memfd), as a user's list would be.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/weak_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = ::memfd_create("blocklist", MFD_CLOEXEC);
  if (fd < 0) return 0;
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  mica::policy::Blocklist list;
  if (list.Load("/proc/self/fd/" + std::to_string(fd))) {
    // A loaded list answers lookups of any key, matching or not.
    (void)list.Match(std::string(64, '0'), {});
    (void)list.Match("", mica::ByteView(data, size));
  }
  ::close(fd);
  return 0;
}
