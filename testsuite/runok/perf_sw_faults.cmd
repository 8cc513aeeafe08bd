cat /proc/version >/dev/null; sleep 0.1
