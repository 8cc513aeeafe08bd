trap '' USR1; trap 'echo got USR2 >&2' USR2; kill -USR1 $$; kill -USR2 $$
