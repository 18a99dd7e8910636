// PEM block splitting (RFC 7468, lax parsing as in its section 3) and a minimal DER
// element-length reader. Private to the x509 module.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/encoding.h"

namespace mica::x509::internal {

struct PemBlock {
  int index = 0;        // 1-based, in file order: the N of "pem:N"
  std::string label;    // "CERTIFICATE", "RSA PRIVATE KEY", ...
  // RFC 1421 headers of traditional encrypted keys ("Proc-Type", "DEK-Info"), in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<Bytes> der;  // nullopt when the body is not valid base64 (or empty)
  std::string problem;       // why `der` is empty: "bad base64", "no END line", ...

  // The value of header `name` (case-insensitive), "" when absent.
  std::string_view Header(std::string_view name) const;
};

// Every BEGIN/END block in `text`, in order. Text outside blocks is ignored. A block
// whose END line is missing is returned with `problem` set, and splitting stops there
// (everything after it would be inside the broken block).
std::vector<PemBlock> SplitPem(std::string_view text);

// The total size (header + content) of the DER element at the start of `der`, or
// nullopt when the header is malformed or claims more bytes than `der` holds. Only the
// definite-length forms DER allows (X.690 section 10.1) are accepted.
std::optional<std::size_t> DerElementSize(ByteView der);

}  // namespace mica::x509::internal
