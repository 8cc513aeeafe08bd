cat /proc/systemtap/*/metadata.json; cat /proc/systemtap/*/data.json; cat /proc/systemtap/*/data.json
