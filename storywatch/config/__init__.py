"""Config stage: sources.yaml and the seed documents it names -> validated models.

``config.load_config`` reads and checks sources.yaml (every problem at once, with file and
line); ``seeds.load_seed`` reads one storyline's seed document. Nothing here does I/O beyond
reading those files; fetch limits and the database URL check are imported only when asked.
"""
