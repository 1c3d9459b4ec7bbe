"""Digest stage: developments -> a digest per storyline and recipient -> mail.

``compose`` decides what a digest holds and ``render`` turns it into text, Markdown, HTML and
a MIME message (both pure; templates in ``templates/``); ``send`` delivers stored digests over
SMTP and to the outbox, exactly once (``smtp``: its settings; ``errors``: its failures in
plain words). The runner that reads the store and records digests is
``storywatch.pipeline.digests``.
"""
