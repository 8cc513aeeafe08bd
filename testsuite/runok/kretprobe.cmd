dd if=/proc/version of=/dev/null
