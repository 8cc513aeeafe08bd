mkdir /tmp/rstap_d; mkdir /tmp/rstap_d; rmdir /tmp/rstap_d; kill -0 $$
