#!/bin/sh
# Says hello, never answers, and ignores SIGTERM: only SIGKILL ends it.
trap '' TERM
printf '{"type":"hello","protocol":1}\n'
while :; do sleep 1; done
