d=$(echo /proc/systemtap/*); echo first > $d/log; echo second > $d/log; cat $d/status; cat $d/status; wc -c < $d/dir/big; tail -c 12 $d/dir/big; echo; ls -l $d | cut -c1-10; ls -l $d/dir | cut -c1-10
