sleep 1; kill -USR2 $PPID; sleep 1
