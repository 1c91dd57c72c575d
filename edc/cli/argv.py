"""Global flags anywhere on the line: ``edc -v sync ...`` and ``edc sync ... -v`` alike.

Click (under Typer) reads a group's options only before the subcommand's name. Before parsing,
``hoist`` moves the global flags (``-v``, ``-q``, ``--config FILE``, ``--user NAME``) to the
front of the line. It walks the command tree as the parser will, so an option's value is never
mistaken for a flag (``--reason -v`` keeps its value), a subcommand's own option of the same
name wins, and everything after ``--`` is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# Global flags: name -> takes a value.
GLOBAL_FLAGS = {"--verbose": False, "--quiet": False, "--config": True, "--user": True}
_SHORT_CLUSTER = re.compile(r"^-(v+|q)$")


def hoist(args: Sequence[str], root: Any) -> list[str]:
    """``args`` with the global flags moved to the front, in their original order."""
    front: list[str] = []
    rest: list[str] = []
    command = root
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":  # noqa: S105 (the end-of-options marker, not a password)
            rest.extend(args[index:])
            break
        name = token.split("=", 1)[0]
        own = _option(command, name) if token.startswith("-") else None
        if own is None and (_SHORT_CLUSTER.match(token) or name in GLOBAL_FLAGS):
            front.append(token)
            if GLOBAL_FLAGS.get(name) and "=" not in token and index + 1 < len(args):
                front.append(args[index + 1])
                index += 1
        elif own is not None:
            rest.append(token)
            if _takes_value(own) and "=" not in token and index + 1 < len(args):
                rest.append(args[index + 1])
                index += 1
        else:
            rest.append(token)
            subcommands = getattr(command, "commands", None) or {}
            if token in subcommands:
                command = subcommands[token]
        index += 1
    return front + rest


# The command tree is read by duck typing (``commands``, ``params``, ``opts``), the attributes
# Click and Typer's command classes share, rather than through Typer's private modules.
def _option(command: Any, name: str) -> Any:
    for param in getattr(command, "params", ()):
        if getattr(param, "param_type_name", "") != "option":
            continue
        if name in (*param.opts, *getattr(param, "secondary_opts", ())):
            return param
    return None


def _takes_value(option: Any) -> bool:
    return not (getattr(option, "is_flag", False) or getattr(option, "count", False))
