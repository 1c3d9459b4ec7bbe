"""The runner layer: each step reads the store, calls the pure stages, writes back.

A live run, in this order (each step reads its input from the store, so a failed step leaves
the earlier steps' work in place and the next run goes on from there)::

    ingest.py      config -> fetch.client -> parse -> store        (chunks.py: side by side)
        |            plan_fetches, fetch_and_store, finish_ingest
    cluster.py     store -> dedupe -> store                        cluster_new_articles
        |
    backfill/finish.py  windows stopped backfills left -> judged and settled, as of their time
        |
    detect.py      store -> storyline engine -> store              detect_storyline
        |
    digests.py     store -> digest.compose -> digest.render -> store   compose_digests
        |
    digest.send    store -> SMTP and the outbox                    deliver_pending

A backfill (``backfill/``) is its own run over a past window::

    backfill/window.py   the window, its pages, the sources and storylines asked (pure)
    backfill/collect.py  fetch the window's pages, store the entries published in it
    backfill/judge.py    detect the window as of its time (a replay from its start)
    backfill/settle.py   mail the window's developments (--email) or record them; let go

``tasks.py`` is what a flow's task calls: one function per task, each loading the config and
opening the store itself (``tasks.configured_store``).
"""
