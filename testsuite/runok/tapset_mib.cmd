ip link set lo up; nc -l -p 4712 >/dev/null & s=$!; sleep 1; (echo hi | nc 127.0.0.1 4712 >/dev/null &); sleep 1; kill $s 2>/dev/null; nc 127.0.0.1 4713 </dev/null >/dev/null 2>&1; true
