/nonexistent/command
