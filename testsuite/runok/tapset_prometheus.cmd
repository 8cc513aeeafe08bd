cat /proc/systemtap/*/__prometheus; cat /proc/systemtap/*/__prometheus
