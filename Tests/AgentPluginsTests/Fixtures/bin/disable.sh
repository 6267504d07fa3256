#!/bin/sh
# Asks to be disabled.
printf '{"type":"hello","protocol":1}\n'
printf '{"type":"disable","reason":"nothing to monitor on this host"}\n'
exec sleep 30
