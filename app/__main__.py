"""`python -m app` runs the CLI."""

from app.main import main

raise SystemExit(main())
