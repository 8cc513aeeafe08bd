d=$(echo /proc/systemtap/*); printf 'ab\ncd' > $d/__stdin; printf 'e\n' > $d/__stdin
