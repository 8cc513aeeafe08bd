printf 'ab\ncd' > /proc/systemtap/*/__stdin; printf 'e\n' > /proc/systemtap/*/__stdin
