"""Human-readable rendering with rich (imported only when the console format is used)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from rich.traceback import Traceback

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["render_events"]

_LEVEL_STYLES = {
    "debug": "dim cyan",
    "info": "green",
    "warning": "yellow",
    "error": "bold red",
    "critical": "bold white on red",
}
_CORE = ("ts", "level", "logger", "msg", "exception")
_MSG_WIDTH = 40


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value else repr(value)
    return repr(value)


def render_events(console: Console, events: list[dict[str, Any]]) -> None:
    """Print ``events`` as aligned, coloured lines; exceptions as rich-formatted stacks."""
    for event in events:
        level = str(event.get("level", "info"))
        ts = str(event.get("ts", ""))
        line = Text()
        line.append(ts[11:23] + " ", style="dim")
        line.append(f"{level.upper():<8} ", style=_LEVEL_STYLES.get(level, ""))
        line.append(f"{event.get('logger', '')}  ", style="blue")
        line.append(f"{event.get('msg', '')!s:<{_MSG_WIDTH}}", style="bold")
        for key, value in event.items():
            if key in _CORE:
                continue
            line.append("  ")
            line.append(f"{key}=", style="cyan")
            line.append(_value(value), style="magenta")
        console.print(line)
        exc = event.get("exception")
        if isinstance(exc, dict):
            error = getattr(exc, "exc", None)
            if isinstance(error, BaseException):
                console.print(
                    Traceback.from_exception(type(error), error, error.__traceback__, max_frames=30)
                )
            else:
                console.print(
                    f"[red]{escape(str(exc.get('stack', '')).rstrip())}[/red]", highlight=False
                )
