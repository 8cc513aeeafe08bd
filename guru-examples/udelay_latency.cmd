uname -s
