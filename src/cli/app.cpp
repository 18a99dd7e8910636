#include "cli/app.h"

namespace mica::cli {
int Run(int, char**) { return 0; }
}  // namespace mica::cli
