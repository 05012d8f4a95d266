#include <sys/prctl.h>

#include <cstring>

#include "app/pasta.h"

int main(int argc, char* argv[]) {
  // The release artifact starts us through its own loader, which the
  // kernel then names us after: take back the name engines and pgrep look
  // for (argv[0]'s last part; 15 bytes at most).
  if (argc > 0) {
    const char* slash = std::strrchr(argv[0], '/');
    prctl(PR_SET_NAME, slash != nullptr ? slash + 1 : argv[0], 0, 0, 0);
  }
  return pasta::app::Main(argc, argv);
}
