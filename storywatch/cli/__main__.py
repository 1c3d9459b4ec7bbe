"""``python -m storywatch.cli``: the `storywatch` command."""

from storywatch.cli.commands import main

if __name__ == "__main__":  # not when a tool imports every module (tests do)
    main()
