cat /nonexistent
