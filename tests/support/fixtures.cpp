#include "fixtures.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mica::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mica-test-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  // Restore permissions a test may have taken away, then remove everything.
  std::string cmd = "chmod -R u+rwx '" + path_ + "' 2>/dev/null; rm -rf '" + path_ + "'";
  (void)std::system(cmd.c_str());
}

int Shell(const std::string& command) {
  int rc = std::system(command.c_str());
  if (rc == -1) return 127;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string ShellOutput(const std::string& command, int* status) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) {
    if (status) *status = 127;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
  return out;
}

void MakeSelfSigned(const std::string& cert_path, const std::string& key_path,
                    const std::string& cn, const std::string& key, int days,
                    const std::string& extra) {
  std::string cmd = "openssl req -x509 -newkey " + key + " -nodes -keyout '" + key_path +
                    "' -out '" + cert_path + "' -subj '/CN=" + cn + "' -days " +
                    std::to_string(days) + " " + extra + " 2>/dev/null";
  if (Shell(cmd) != 0) throw std::runtime_error("openssl failed: " + cmd);
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void BlockSigpipeOnThisThread() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
}

std::string SharedData() {
  const char* env = std::getenv("MICA_SHARED_DATA");
  std::string dir = env && *env ? env : "";
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return "";
  // ctest passes "<source>/../shared/data"; mica stores normalised absolute paths.
  auto canonical = std::filesystem::canonical(dir, ec);
  return ec ? dir : canonical.string();
}

}  // namespace mica::testing
