cat /rstap_forbidden; echo "cat exited with status $?"
