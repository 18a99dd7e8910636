#include "store/store.h"

#include "store/internal/sqlite_store.h"

namespace mica::store {

const char* LocationKindName(LocationKind kind) {
  switch (kind) {
    case LocationKind::kFile:
      return "file";
    case LocationKind::kTlsEndpoint:
      return "tls_endpoint";
  }
  return "unknown";
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  if (path.empty()) return Fail(ErrorCode::kInvalidArgument, "inventory path is empty");
  if (path.rfind("postgresql://", 0) == 0 || path.rfind("postgres://", 0) == 0)
    return Fail(ErrorCode::kUnsupported,
                "the PostgreSQL inventory back end is not built yet; use a file path");
  return internal::OpenSqliteStore(path);
}

Result<bool> Store::HasCompleteScan(const ScanStart& start) {
  ScanFilter f = ScanFilter::Latest(1);
  f.kind = start.kind;
  f.host = start.host;
  f.status = "complete";
  f.roots = start.roots;
  auto scans = ListScans(f);
  if (!scans) return tl::unexpected(scans.error());
  return !scans->empty();
}

}  // namespace mica::store
