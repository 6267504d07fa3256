#!/bin/sh
# ViWorks plugin example in plain sh (poll mode): process and open-file counts from /proc.
# Protocol: docs/plugin-protocol.md. Try it:  viworks-agent plugin test plugins.d/shell-example.toml
printf '{"type":"hello","protocol":1,"name":"shell-example","version":"1.0"}\n'
while IFS= read -r line; do
  case "$line" in
    *'"type":"collect"'*)
      # The reply must echo the collect's id.
      id=${line#*\"id\":}
      id=${id%%[,\}]*}
      processes=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)
      open_files=$(awk '{print $1}' /proc/sys/fs/file-nr)
      max_files=$(awk '{print $3}' /proc/sys/fs/file-nr)
      printf '{"type":"metrics","id":%s,"samples":[' "$id"
      printf '{"name":"example_processes","value":%s,"help":"Processes on the host."},' "$processes"
      printf '{"name":"example_open_files","value":%s,"unit":"files","help":"Open file handles."},' "$open_files"
      printf '{"name":"example_open_files_limit","value":%s,"unit":"files","help":"fs.file-max."}]}\n' "$max_files"
      ;;
    *'"type":"shutdown"'*) exit 0 ;;
  esac
done
