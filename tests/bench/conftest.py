"""pytest: the benchmark is a script, not a test; collect nothing here."""

collect_ignore_glob = ["*"]
