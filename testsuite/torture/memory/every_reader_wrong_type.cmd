dd if=/proc/version of=/dev/null 2>/dev/null
