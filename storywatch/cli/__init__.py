"""The `storywatch` command line: ``commands`` (the typer app and ``main``), ``export`` (the
one definition of the export contract), ``argv`` (--config wherever it is given),
``backfill`` (the backfill command's progress and report). ``python -m storywatch.cli`` and
the ``storywatch`` console script both run ``commands.main``.
"""
