"""The `charter` command line: thin commands that parse input, call services, render."""
