trap '' USR1; mkdir /tmp/rstap_d; mkdir /tmp/rstap_d; mv /tmp/rstap_d /tmp/rstap_e; rmdir /tmp/rstap_e; kill -USR1 $$; kill -0 $$
