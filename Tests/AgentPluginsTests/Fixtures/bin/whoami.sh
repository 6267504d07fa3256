#!/bin/sh
# Stream mode: reports the uid and gid it runs as.
printf '{"type":"hello","protocol":1}\n'
while :; do
  printf '{"type":"metrics","samples":[{"name":"fixture_uid","value":%s},{"name":"fixture_gid","value":%s}]}\n' "$(id -u)" "$(id -g)"
  sleep 0.1
done
