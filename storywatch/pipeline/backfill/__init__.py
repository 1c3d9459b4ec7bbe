"""Backfill: fetch what the sources still hold of a past window, store only the entries
published in it, judge them as of their time, and settle the window.

    window.py   -> collect.py -> judge.py -> settle.py

``finish.py`` is the same judge-and-settle for a window a stopped backfill left: the step a
live run takes before detection.
"""
