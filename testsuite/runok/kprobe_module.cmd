insmod rstap_testmod.ko && cat /proc/rstap_testmod >/dev/null && rmmod rstap_testmod
