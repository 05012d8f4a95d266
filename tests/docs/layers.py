#!/usr/bin/env python3
"""The layering of src/ against ARCHITECTURE.md's table of layers.

    layers.py ARCHITECTURE.md SRC_DIR

The rows of the table under "## Modules and layers" are the layers, lowest
first; the modules of a row are the names in backticks of its second
column. Checks, each failure on its own line:
  1. every directory of SRC_DIR is a module of some layer (a new module
     has to be placed);
  2. every `#include "MODULE/..."` in a module's files names a module of
     the same layer or a lower one (third-party includes, absl/ and
     gtest/, are not modules and are passed over).
Exits 1 on any failure.
"""
import os
import re
import sys


def layers(architecture):
    rank = {}
    in_section = False
    level = 0
    with open(architecture, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                in_section = line.strip() == "## Modules and layers"
                continue
            if not in_section or not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 2 or cells[0] in ("layer", "") or set(cells[0]) <= set("-"):
                continue
            names = re.findall(r"`([a-z0-9_]+)`", cells[1])
            for name in names:
                rank[name] = level
            level += 1
    return rank


def main():
    if len(sys.argv) != 3:
        print("usage: layers.py ARCHITECTURE.md SRC_DIR", file=sys.stderr)
        return 2
    rank = layers(sys.argv[1])
    src = sys.argv[2]
    if not rank:
        print(f"{sys.argv[1]}: no table under '## Modules and layers'")
        return 1
    failures = 0
    include = re.compile(r'\s*#\s*include\s+"([a-z0-9_]+)/')
    for module in sorted(os.listdir(src)):
        path = os.path.join(src, module)
        if not os.path.isdir(path):
            continue
        if module not in rank:
            print(f"src/{module}: a module in no layer of the table")
            failures += 1
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith((".h", ".cc")):
                continue
            with open(os.path.join(path, name), encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    m = include.match(line)
                    if not m or m.group(1) not in rank:
                        continue
                    if rank[m.group(1)] > rank[module]:
                        print(f"src/{module}/{name}:{number}: includes "
                              f"{m.group(1)}/, a higher layer")
                        failures += 1
    print(f"{len(rank)} modules in the table; {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
