sleep 2 & sleep 2 & sleep 2 & wait
