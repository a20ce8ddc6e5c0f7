"""`python -m edi` runs the command line, for environments without the console script."""

from edi.cli import main

main()
