for f in dirty_ratio dirty_background_ratio swappiness overcommit_ratio overcommit_memory; do v=$(cat /proc/sys/vm/$f); echo $v > /proc/sys/vm/$f; done
