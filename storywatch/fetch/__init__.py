"""Fetch stage: download feeds over HTTP, politely and within hard limits.

``model`` holds the data (``FetchLimits``, ``FetchRequest``, ``FetchResult``), ``client`` does
the HTTP (``Fetcher``, ``fetch_as_completed``), ``errors`` is the one place that turns a failure
into an ``error_kind`` and plain words.
"""
