#!/bin/sh
# Every kiln-cli command (a src/cli/kiln-cli-NAME.c file) is listed with a one-line summary by
# "kiln-cli --help" and has a section ".SS kiln\-cli NAME" in the man page that mentions each of
# its options, and the man page documents no command that does not exist.  Usage: check-cli-commands.sh SOURCE_ROOT KILN_CLI MANPAGE
set -eu
root=$1 cli=$2 man=$3
status=0
help=$("$cli" --help) || { echo "kiln-cli --help failed"; exit 1; }
# "kiln-cli" alone is a usage error (exit 2) that prints the same list on stderr
rc=0; "$cli" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || { echo "kiln-cli without a command exited with $rc, not 2"; status=1; }
sections=$(sed -n 's/\\-/-/g; s/^\.SS kiln-cli \([a-z-]*\).*/\1/p' "$man")
commands=$(cd "$root/src/cli" && ls kiln-cli-*.c | sed 's/^kiln-cli-\(.*\)\.c$/\1/' | grep -vx common)
[ -n "$commands" ] || { echo "no command sources found under $root/src/cli"; exit 1; }
n=0
for c in $commands; do
  n=$((n + 1))
  echo "$help" | grep -Eq "^  $c +[A-Z][^ ].{8,}" \
    || { echo "kiln-cli --help does not list \"$c\" with a one-line summary"; status=1; }
  echo "$sections" | grep -qx "$c" || { echo "$man has no section for \"$c\""; status=1; }
  # every option of the command (but --help and --json, described once) is in its section
  opts=$("$cli" "$c" --help 2>/dev/null | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' | \
         grep -oE -- '--[a-z0-9-]+' | grep -vx -e '--help' -e '--json') || true
  section=$(sed 's/\\-/-/g' "$man" | awk -v c="$c" '/^\.SS /{on = ($0 ~ ("^\\.SS kiln-cli " c " "))} on')
  for o in $opts; do
    echo "$section" | grep -Eq -- "$o([^a-z0-9-]|\$)" \
      || { echo "$man: the section of \"$c\" does not mention its option $o"; status=1; }
  done
done
for s in $sections; do
  echo "$commands" | grep -qx "$s" || { echo "$man documents \"$s\", which kiln-cli does not have"; status=1; }
done
for c in $(echo "$help" | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'); do
  echo "$commands" | grep -qx "$c" || { echo "kiln-cli --help lists \"$c\", which has no source"; status=1; }
done
[ $status -eq 0 ] && echo "all $n commands are in kiln-cli --help and in $(basename "$man")"
exit $status
