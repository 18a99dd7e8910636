// The `mica` command: parses flags with CLI11, calls the modules, prints results.
#pragma once

namespace mica::cli {

// Runs the command line; returns the process exit code (docs/CLI.md lists them).
int Run(int argc, char** argv);

}  // namespace mica::cli
