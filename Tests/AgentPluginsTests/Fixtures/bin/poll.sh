#!/bin/sh
# A well-behaved poll-mode plugin in plain sh: hello, then one metrics reply per collect, echoing its id.
printf '{"type":"hello","protocol":1,"name":"poll-sh","version":"1.0"}\n'
n=0
while IFS= read -r line; do
  case "$line" in
    *'"type":"collect"'*)
      id=${line#*\"id\":}
      id=${id%%[,\}]*}
      n=$((n + 1))
      printf '{"type":"metrics","id":%s,"samples":[{"name":"fixture_polls_total","value":%s,"kind":"counter"},{"name":"fixture_up","value":1,"labels":{"via":"sh"}}]}\n' "$id" "$n"
      ;;
    *'"type":"shutdown"'*) exit 0 ;;
  esac
done
