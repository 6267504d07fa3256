#!/bin/sh
# A well-behaved stream-mode plugin: hello, then a metrics message every VIWORKS_PLUGIN_INTERVAL_MS.
printf '{"type":"hello","protocol":1}\n'
interval=$(awk "BEGIN{print ${VIWORKS_PLUGIN_INTERVAL_MS:-1000}/1000}")
n=0
while :; do
  n=$((n + 1))
  printf '{"type":"metrics","samples":[{"name":"fixture_stream_ticks_total","value":%s,"kind":"counter"}]}\n' "$n"
  printf '{"type":"service","name":"fixture","state":"active","message":"tick %s"}\n' "$n"
  sleep "$interval"
done
