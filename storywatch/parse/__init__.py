"""Parse stage: feed bytes (plus response headers) -> entries -> articles; no I/O.

``feedparser.parse_feed`` is the one entry point: clean RSS 2.0 / Atom 1.0 goes to
``fast.fast_parse``, JSON Feed to the json module, everything else to feedparser; ``decode``
holds the data (``ParsedFeed``, ``FeedEntry``, ``ParseError``) and the helpers both XML paths
share. ``normalise.normalise_feed`` turns entries into ``Article`` records the store keeps.
"""
