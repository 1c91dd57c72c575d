"""`python -m edc` runs the command-line interface."""

from edc import cli

raise SystemExit(cli.main())
