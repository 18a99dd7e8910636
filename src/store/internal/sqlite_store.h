// The SQLite back end of Store; Store::Open picks it for a plain file path.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace mica::store::internal {

[[nodiscard]] Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace mica::store::internal
