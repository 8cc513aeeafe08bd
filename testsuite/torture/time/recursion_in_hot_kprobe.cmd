i=0; while [ $i -lt 15 ]; do dd if=/proc/version of=/dev/null 2>/dev/null; sleep 0.1; i=$((i+1)); done
