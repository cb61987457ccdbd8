"""Command line: `claims-fraud` and its subcommands (the top layer: it may import every other)."""
