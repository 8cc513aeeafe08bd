echo torture-user-bytes >/tmp/u; dd if=/tmp/u of=/dev/null bs=4096 count=1 2>/dev/null
