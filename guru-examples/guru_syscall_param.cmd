dd if=/proc/version of=/dev/null bs=100 count=1
