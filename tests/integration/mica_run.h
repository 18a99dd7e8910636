// Runs this build's mica binary as a user's shell would, for the end-to-end tests.
#pragma once

#include <string>

#include "fixtures.h"

namespace mica::testing {

struct MicaRun {
  int status = 0;
  std::string out, err;
};

// `mica --db DB ARGS` with stdin from /dev/null; stderr is captured through `err_file`.
// ARGS is shell text (quote paths in it).
inline MicaRun RunMica(const std::string& db, const std::string& args,
                       const std::string& err_file) {
  MicaRun r;
  r.out = ShellOutput(std::string(MICA_BINARY) + " --db '" + db + "' " + args + " 2>'" +
                          err_file + "' </dev/null",
                      &r.status);
  r.err = ReadFile(err_file);
  return r;
}

}  // namespace mica::testing
