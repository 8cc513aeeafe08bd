cd /tmp && cd /no/such/dir 2>/dev/null; true
