"""storywatch: follow one news story closely.

The library is plain Python, one module per pipeline stage
(config -> fetch -> parse -> normalise -> dedupe -> store -> storyline -> digest -> send).
Prefect lives in the sibling package ``flows``; nothing here imports it.
"""

__version__ = "0.1.0"
