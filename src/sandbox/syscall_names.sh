#!/bin/sh
# syscall_names.sh CXX OUT: writes one `{__NR_name, "name"},` line for every
# system call that <sys/syscall.h> defines for CXX's target, so that the
# sandbox can name a refused call on any architecture.
set -eu
cxx=$1
out=$2
echo '#include <sys/syscall.h>' | "$cxx" -E -dM -x c++ - |
  sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/{__NR_\1, "\1"},/p' |
  sort -u >"$out.tmp"
mv "$out.tmp" "$out"
