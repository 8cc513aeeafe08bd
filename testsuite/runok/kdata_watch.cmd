echo 30 > /proc/sys/vm/dirty_ratio; echo 25 > /proc/sys/vm/dirty_ratio; cat /proc/sys/vm/dirty_background_ratio
