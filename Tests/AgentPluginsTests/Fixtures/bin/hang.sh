#!/bin/sh
# Says hello, then never answers a collect.
printf '{"type":"hello","protocol":1}\n'
exec sleep 30
