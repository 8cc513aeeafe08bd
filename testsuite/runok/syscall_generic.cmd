sleep 0.25; sync; touch /tmp/rstap_t; touch /tmp/rstap_t
