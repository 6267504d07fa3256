#!/bin/sh
# Speaks a protocol version the agent does not know.
printf '{"type":"hello","protocol":2}\n'
exec sleep 30
