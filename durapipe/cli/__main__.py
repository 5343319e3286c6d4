"""`python -m durapipe.cli`: the `durapipe` command."""
from durapipe.cli.main import entry

entry()
