"""CLI commands, one module per command group; ``textwire.cli`` wires them together."""
