// libFuzzer entry point for the STARTTLS dialogs: a hostile server's bytes, split into
// reads at fuzzer-chosen points, fed to each protocol's state machine. The dialog must
// end (ready or failed) or keep asking for more without growing past its reply cap, and
// a failed dialog stays failed with a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "discover/internal/starttls.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mica::discover::StartTls;
  using mica::discover::internal::StartTlsDialog;
  if (size < 2) return 0;
  constexpr StartTls kProtocols[] = {StartTls::kSmtp, StartTls::kImap,  StartTls::kPop3,
                                     StartTls::kFtp,  StartTls::kLdap,  StartTls::kXmpp,
                                     StartTls::kPostgres};
  const StartTls protocol = kProtocols[data[0] % std::size(kProtocols)];
  const std::size_t step = 1 + data[1] % 64;  // read sizes from 1 to 64 bytes
  const std::string_view server(reinterpret_cast<const char*>(data + 2), size - 2);

  StartTlsDialog dialog(protocol, "mail.example");
  std::size_t sent = dialog.TakeOutput().size();
  StartTlsDialog::State state = dialog.state();
  for (std::size_t at = 0; at < server.size() && state == StartTlsDialog::State::kNeedMore;
       at += step) {
    state = dialog.Feed(server.substr(at, step));
    sent += dialog.TakeOutput().size();
  }
  if (state == StartTlsDialog::State::kFailed) {
    if (dialog.error().empty()) std::abort();
    if (dialog.Feed("more") != StartTlsDialog::State::kFailed) std::abort();
  }
  // The client's side of a dialog is a few short commands, whatever the server says.
  if (sent > 4096) std::abort();
  return 0;
}
