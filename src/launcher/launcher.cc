// The release artifact's bin/pasta and bin/pesto (scripts/release.sh): a
// small static program that starts the real pasta (or pesto, when the
// launcher's own file is called pesto) with the C library and loader the
// artifact carries, so that nothing of the host's userland is needed:
//
//   PREFIX/bin/pasta, bin/pesto       this launcher (static, no loader)
//   PREFIX/lib/pasta-cpp/pasta, pesto the real binaries
//   PREFIX/lib/pasta-cpp/ld-linux-*   their loader, glibc and libmnl
//
// It execs  LOADER --library-path DIR --argv0 ARGV0 DIR/pasta ARGS...,
// so pasta sees the argv it was given (ps shows "pasta ..."); pasta then
// names its own thread "pasta" (comm) for pgrep and engines. The directory
// is found through /proc/self/exe (argv[0] where /proc is missing). Exit
// status 127 and one line if the artifact is incomplete.
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vector>

#ifndef PASTA_LOADER
#error "PASTA_LOADER names the loader file (e.g. ld-linux-x86-64.so.2)"
#endif

namespace {

// Copies the directory part of `path` (without the last '/') into out.
bool DirName(const char* path, char* out, size_t size) {
  const char* slash = strrchr(path, '/');
  if (slash == nullptr) return false;
  const size_t n = static_cast<size_t>(slash - path);
  if (n + 1 > size) return false;
  memcpy(out, path, n);
  out[n] = '\0';
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
  } else if (argc > 0 && strchr(argv[0], '/') != nullptr &&
             realpath(argv[0], self) != nullptr) {
    // No /proc: argv[0] as typed (a path, not a bare name).
  } else {
    fprintf(stderr, "pasta: can't find the artifact's directory (no /proc)\n");
    return 127;
  }
  // Which program: the launcher's own name (the file, not a link to it).
  const char* base = strrchr(self, '/');
  const char* program =
      base != nullptr && strcmp(base + 1, "pesto") == 0 ? "pesto" : "pasta";
  char bin[PATH_MAX], prefix[PATH_MAX];
  if (!DirName(self, bin, sizeof(bin)) ||
      !DirName(bin, prefix, sizeof(prefix))) {
    fprintf(stderr, "pasta: unexpected location %s\n", self);
    return 127;
  }
  char libdir[PATH_MAX], loader[PATH_MAX], real[PATH_MAX];
  if (snprintf(libdir, sizeof(libdir), "%s/lib/pasta-cpp", prefix) >=
          static_cast<int>(sizeof(libdir)) ||
      snprintf(loader, sizeof(loader), "%s/%s", libdir, PASTA_LOADER) >=
          static_cast<int>(sizeof(loader)) ||
      snprintf(real, sizeof(real), "%s/%s", libdir, program) >=
          static_cast<int>(sizeof(real))) {
    fprintf(stderr, "pasta: path too long: %s\n", prefix);
    return 127;
  }
  // LOADER --library-path DIR --argv0 ARGV0 REAL ARGS... NULL
  std::vector<char*> args = {loader,
                             const_cast<char*>("--library-path"),
                             libdir,
                             const_cast<char*>("--argv0"),
                             argc > 0 ? argv[0] : const_cast<char*>(program),
                             real};
  for (int a = 1; a < argc; ++a) args.push_back(argv[a]);
  args.push_back(nullptr);
  execv(loader, args.data());
  fprintf(stderr, "pasta: starting %s: %s\n", loader, strerror(errno));
  return 127;
}
