dd if=/proc/version of=/dev/null bs=1 2>/dev/null
