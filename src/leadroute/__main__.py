"""``python -m leadroute`` runs the command line."""

from leadroute.cli import main

raise SystemExit(main())
