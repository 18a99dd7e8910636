// mica::Error and mica::Result: the one error type of the project.
//
// Errors are values. A fallible function returns Result<T>; it never throws across a
// module boundary. The message names the input (a path, an endpoint, a flag) and the
// reason, so that the CLI can print it as it is.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace mica {

// Each code maps to one CLI exit code (see docs/CLI.md) and, later, one HTTP status.
enum class ErrorCode {
  kInvalidArgument,  // the caller (a user, a flag) asked for something malformed: exit 2
  kInput,            // an input (file, certificate, key, config) is malformed: exit 3
  kNotFound,         // a named thing does not exist: exit 3
  kPermission,       // the OS refused access: exit 3
  kIo,               // reading or writing failed: exit 3
  kEncrypted,        // the content is encrypted and no password opened it: exit 3
  kUnsupported,      // recognised but not handled (an algorithm, a format version): exit 3
  kInternal,         // a bug or an unexpected library failure: exit 4
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;

using Status = tl::expected<void, Error>;

// Returns an unexpected Error; use as `return Fail(ErrorCode::kInput, "...")`.
inline tl::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// Prefixes an error's message with context ("reading /etc/ssl/x.pem: ...").
inline tl::unexpected<Error> Wrap(const Error& e, std::string_view context) {
  return tl::unexpected<Error>(Error{e.code, std::string(context) + ": " + e.message});
}

// The short stable name of a code, for JSON output and logs.
const char* ErrorCodeName(ErrorCode code);

// The CLI exit code for an error (2 usage, 3 input, 4 internal).
int ExitCodeFor(ErrorCode code);

}  // namespace mica
