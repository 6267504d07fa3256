#!/bin/sh
# Fails at once, every time.
echo "cannot connect to the database" >&2
exit 3
