sleep 10 & kill -TERM $!; wait
