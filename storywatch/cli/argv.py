"""Command-line arguments before typer sees them: --config/-c wherever it is given."""

from __future__ import annotations

from typing import Any

CONFIG_OPTION_NAMES = ("--config", "-c")


def config_option_first(args: list[str], root: Any) -> list[str]:
    """Move a --config/-c/--config=PATH given after the subcommand in front of it, where the
    contract has it (`storywatch [--config PATH] check`): `storywatch check -c x.yaml` works
    too. ``root`` is the click command tree. An option's value stays with its option (in
    `--storyline -c`, -c is a storyline), nothing after `--` moves, and the arguments are
    returned unchanged when they name no known subcommand (click reports that)."""
    command, kept, moved, start = root, [], [], None
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            kept += args[index:]
            break
        own = _option_arity(command)  # the subcommand's own options win over ours
        name = token.split("=", 1)[0] if token.startswith("--") else token
        if start is not None and name in CONFIG_OPTION_NAMES and name not in own:
            if "=" in token:
                moved.append(token)
            elif index + 1 < len(args):
                moved += args[index : index + 2]
                index += 1
            else:
                kept.append(token)  # no value: let click say so
        elif token.startswith("-") and token != "-":
            kept.append(token)
            if own.get(token) and index + 1 < len(args):  # "--source NAME": NAME is a value
                kept.append(args[index + 1])
                index += 1
        elif getattr(command, "commands", None) is not None:  # a group: token names a command
            if token not in command.commands:
                return args
            start = len(kept) if start is None else start
            command = command.commands[token]
            kept.append(token)
        else:
            kept.append(token)
        index += 1
    if start is None:
        return args
    return kept[:start] + moved + kept[start:]


def _option_arity(command: Any) -> dict[str, bool]:
    """Each option name of ``command`` -> whether it takes a value (flags do not)."""
    arity = {}
    for param in getattr(command, "params", ()):
        if getattr(param, "param_type_name", "") != "option":
            continue
        takes_value = not (param.is_flag or param.count)
        arity.update(dict.fromkeys(param.opts, takes_value))
        arity.update(dict.fromkeys(param.secondary_opts, False))
    return arity
