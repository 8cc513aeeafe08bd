# The per-hit bench inside the guest (busybox sh, cwd /work): ROUNDS
# rounds of every variant, interleaved so that drift hits all alike.
# Prints "VARIANT loop calls=N ns=T" per run, and after each rstap run
# "VARIANT LINE" for every line the script printed (its hit count).
# Arguments: ROUNDS, then the names of extra rstap modules (perhit_NAME.ko).
rounds=${1:-3}
shift
r=0
while [ "$r" -lt "$rounds" ]; do
	r=$((r + 1))
	echo "none $(./loop)"
	insmod ./perhit_hand.ko || exit 1
	echo "hand $(./loop)"
	rmmod perhit_hand || exit 1
	for v in stat array global "$@"; do
		out=$(./staprun -c ./loop perhit_$v.ko) || { echo "$v: staprun failed: $out"; exit 1; }
		echo "$out" | sed "s/^/$v /"
	done
done
