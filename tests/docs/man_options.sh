#!/usr/bin/env bash
# The manual page against --help and the option table, and a clean groff run.
#
#   PASTA=path/to/pasta man_options.sh MAN_PAGE CONFIG_SOURCE...
#
# CONFIG_SOURCE: the files of src/config that hold the option table
# (kOptionDefs) and the parser (Unimplemented(...) calls); read as one.
#
# Checks, each failure named on its own line:
#   1. every option line of `pasta --help` has an entry (a .TP tag) in the
#      man page's OPTIONS section, with the same short option and the same
#      argument, and every OPTIONS entry is listed by --help;
#   2. every option in config.cc's kOptionDefs table is mentioned somewhere
#      in the man page, and every option the man page or --help mentions is
#      in that table (no typos, no options that are gone);
#   3. every literal Unimplemented("name") in config.cc is listed in
#      DIFFERENCES FROM UPSTREAM;
#   4. option names in the roff source are written \-x / \-\-name (which is
#      what makes 1-3 exact); the .TH version is that of `pasta --version`;
#   5. `groff -ww -z -man` prints nothing (and `mandoc -T lint`, where
#      mandoc is installed).
# Needs groff (Debian: groff-base). Runs no namespace, only --help and
# --version.
set -u

man_page=${1:?usage: PASTA=... $0 MAN_PAGE CONFIG_SOURCE...}
: "${2:?usage: PASTA=... $0 MAN_PAGE CONFIG_SOURCE...}"
shift
config_sources=("$@")
: "${PASTA:?set PASTA to the pasta binary}"

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! "$PASTA" --help >"$tmp/help"; then
  echo "FAIL: $PASTA --help exited with an error" >&2
  exit 1
fi
[ -r "$man_page" ] || { echo "FAIL: cannot read $man_page" >&2; exit 1; }
for f in "${config_sources[@]}"; do
  [ -r "$f" ] || { echo "FAIL: cannot read $f" >&2; exit 1; }
done
# The sources as one text; messages name them all.
config_cc=$tmp/config-sources.cc
cat "${config_sources[@]}" >"$config_cc"
config_names="${config_sources[*]}"

# --- What each source says -------------------------------------------------

# --help: "LONG;SHORT;ARG" for each option line, which has two
# spaces and "-x, --long", or six spaces and "--long", then an optional
# argument after one space.
sed -nE \
  -e 's/^  -([A-Za-z0-9]), --([a-z0-9][a-z0-9-]*)( ([^ ]+))?( {2,}.*)?$/\2;\1;\4/p' \
  -e 's/^      --([a-z0-9][a-z0-9-]*)( ([^ ]+))?( {2,}.*)?$/\1;;\3/p' \
  "$tmp/help" >"$tmp/help.rec"
cut -d';' -f1 "$tmp/help.rec" | sort >"$tmp/help.long"
if [ "$(wc -l <"$tmp/help.long")" -lt 40 ]; then
  fail "found only $(wc -l <"$tmp/help.long") option lines in --help: has its layout changed?"
fi
if [ -n "$(uniq -d "$tmp/help.long")" ]; then
  fail "--help lists these options more than once: $(uniq -d "$tmp/help.long" | tr '\n' ' ')"
fi
# Every --name mentioned anywhere in --help.
grep -oE -- '--[a-z0-9][a-z0-9-]*' "$tmp/help" | sed 's/^--//' | sort -u >"$tmp/help.mentioned"

# The roff source without comment lines, with \- turned into -.
grep -v '^\.\\"' "$man_page" >"$tmp/man.nocomment"
sed 's/\\-/-/g' "$tmp/man.nocomment" >"$tmp/man"

# OPTIONS: the tag line after each .TP (or .TQ), font escapes turned into
# <B> <I> <R>, e.g. "<B>-m<R>, <B>--mtu<R> <I>MTU<R>".
sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$tmp/man" |
  awk 'prev ~ /^\.T[PQ]/ { print } { prev = $0 }' |
  sed -e 's/\\fB/<B>/g' -e 's/\\fI/<I>/g' -e 's/\\fR/<R>/g' -e 's/\\fP/<R>/g' \
  >"$tmp/man.tags"
# "LONG;SHORTS;ARG" per long option of each tag: the tag is split
# at ", <B>" into one piece per option; the argument is what follows the
# long option's name, without font escapes.
: >"$tmp/man.rec"
while IFS= read -r tag; do
  shorts=
  longs=()
  args=()
  rest=$tag
  while [ -n "$rest" ]; do
    piece=${rest%%, <B>*}
    if [ "$piece" = "$rest" ]; then rest=; else rest="<B>${rest#*, <B>}"; fi
    name=${piece#<B>}
    name=${name%%<R>*}
    arg=${piece#*<R>}
    [ "$arg" = "$piece" ] && arg=
    arg=${arg# }
    arg=$(printf '%s' "$arg" | sed -e 's/<[BIR]>//g' -e 's/[[:space:]]*$//')
    case $name in
      --[a-z0-9]*) longs+=("${name#--}"); args+=("$arg") ;;
      -[A-Za-z0-9]) shorts+=${name#-} ;;
      *) fail "OPTIONS entry not understood: '$tag' (write \\fB\\-x\\fR, \\fB\\-\\-name\\fR \\fIARG\\fR)" ;;
    esac
  done
  if [ "${#longs[@]}" -eq 0 ]; then
    fail "OPTIONS entry without a long option: '$tag'"
  fi
  for i in "${!longs[@]}"; do
    printf '%s;%s;%s\n' "${longs[$i]}" "$shorts" "${args[$i]}" >>"$tmp/man.rec"
  done
done <"$tmp/man.tags"
cut -d';' -f1 "$tmp/man.rec" | sort >"$tmp/man.long"
if [ -n "$(uniq -d "$tmp/man.long")" ]; then
  fail "the man page has more than one OPTIONS entry for: $(uniq -d "$tmp/man.long" | tr '\n' ' ')"
fi
# Every --name anywhere in the page.
grep -oE -- '--[a-z0-9][a-z0-9-]*' "$tmp/man" | sed 's/^--//' | sort -u >"$tmp/man.mentioned"

# config.cc: the option table, and the options marked unimplemented.
sed -n '/kOptionDefs\[\] = {/,/^};/p' "$config_cc" |
  grep -oE '\{"[a-z0-9][a-z0-9-]*"' | tr -d '{"' | sort -u >"$tmp/table"
if [ "$(wc -l <"$tmp/table")" -lt 40 ]; then
  fail "found only $(wc -l <"$tmp/table") options in kOptionDefs of $config_names: has its layout changed?"
fi
grep -oE 'Unimplemented\("[a-z0-9-]+"\)' "$config_cc" |
  sed -E 's/Unimplemented\("(.*)"\)/\1/' | sort -u >"$tmp/unimplemented"

# --- 1. --help and OPTIONS list the same options, alike ---------------------

while IFS= read -r opt; do
  fail "--$opt is listed by pasta --help but has no entry in the OPTIONS section of $man_page"
done < <(comm -23 "$tmp/help.long" "$tmp/man.long")
while IFS= read -r opt; do
  fail "--$opt has an entry in the OPTIONS section of $man_page but pasta --help does not list it"
done < <(comm -13 "$tmp/help.long" "$tmp/man.long")

while IFS=';' read -r long short arg; do
  line=$(awk -F';' -v l="$long" '$1 == l { print; exit }' "$tmp/man.rec")
  [ -n "$line" ] || continue  # reported above
  man_shorts=$(printf '%s' "$line" | cut -d';' -f2)
  man_arg=$(printf '%s' "$line" | cut -d';' -f3)
  if [ -n "$short" ] && [[ $man_shorts != *"$short"* ]]; then
    fail "--$long: --help gives it as -$short, the man page entry does not"
  fi
  if [ -z "$short" ] && [ -n "$man_shorts" ]; then
    fail "--$long: the man page entry has -$man_shorts, --help has no short form"
  fi
  if [ "$arg" != "$man_arg" ]; then
    fail "--$long: argument '${arg}' in --help but '${man_arg}' in the man page"
  fi
done <"$tmp/help.rec"

# --- 2. Against the option table ---------------------------------------------

while IFS= read -r opt; do
  fail "--$opt is accepted by $config_names but not mentioned in $man_page"
done < <(comm -23 "$tmp/table" "$tmp/man.mentioned")
while IFS= read -r opt; do
  fail "--$opt is mentioned in $man_page but is not an option (not in kOptionDefs)"
done < <(comm -13 "$tmp/table" "$tmp/man.mentioned")
while IFS= read -r opt; do
  fail "--$opt is mentioned in pasta --help but is not an option (not in kOptionDefs)"
done < <(comm -13 "$tmp/table" "$tmp/help.mentioned")

# --- 3. Options without effect are owned up to ----------------------------------

sed -n '/^\.SH DIFFERENCES FROM UPSTREAM/,/^\.SH /p' "$tmp/man" |
  grep -oE -- '--[a-z0-9][a-z0-9-]*' | sed 's/^--//' | sort -u >"$tmp/differences"
while IFS= read -r opt; do
  fail "--$opt is accepted without effect (Unimplemented in $config_names) but DIFFERENCES FROM UPSTREAM does not list it"
done < <(comm -23 "$tmp/unimplemented" "$tmp/differences")

# --- 4. Writing conventions, version ---------------------------------------

# An option-like hyphen that is not escaped: "-x" or "--name" at the start
# of a word (after a space, bracket, slash, comma or quote), outside comments.
grep -nE -- '(^|[][ (/,"|])--?[A-Za-z]' "$tmp/man.nocomment" >"$tmp/bare" || true
while IFS= read -r hit; do
  fail "unescaped option hyphen in $man_page (write \\- in roff): $hit"
done <"$tmp/bare"

version=$("$PASTA" --version | sed -nE 's/^pasta \(pasta-cpp\) ([0-9][0-9.]*)$/\1/p')
man_version=$(sed -nE 's/^\.TH .*"pasta\\-cpp ([0-9][0-9.]*)".*/\1/p' "$man_page")
if [ -z "$version" ]; then
  fail "pasta --version does not print 'pasta (pasta-cpp) VERSION': $("$PASTA" --version)"
elif [ "$version" != "$man_version" ]; then
  fail "the .TH line of $man_page names version '$man_version', pasta --version says '$version'"
fi

# --- 5. Formatters -------------------------------------------------------------

if ! command -v groff >/dev/null; then
  fail "groff not found (Debian: apt-get install groff-base)"
else
  out=$(LC_ALL=C.UTF-8 groff -ww -z -man "$man_page" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    fail "groff -ww -z -man $man_page (exit $rc): $out"
  fi
fi
if command -v mandoc >/dev/null; then
  out=$(mandoc -T lint -W warning "$man_page" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    fail "mandoc -T lint $man_page (exit $rc): $out"
  fi
else
  echo "note: mandoc not installed, its lint is not run" >&2
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures problem(s) between $man_page, pasta --help and $config_names" >&2
  exit 1
fi
echo "ok: $(wc -l <"$tmp/help.long") options in --help and OPTIONS agree; $(wc -l <"$tmp/table") table options mentioned; groff clean"
