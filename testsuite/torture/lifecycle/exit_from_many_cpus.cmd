cat /proc/version /proc/version >/dev/null
