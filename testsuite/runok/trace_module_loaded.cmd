echo V > /dev/watchdog; rmmod softdog; rmmod watchdog
