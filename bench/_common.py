"""What bench scripts print beside a measurement: the time in UTC and the machine's load average (`uptime`'s
three numbers). docs/benchmarks.md records both with every result; and `run(main)`, which turns bad input into
one error line as the CLI does; `threads`, the argparse type of every --threads; `free_port`, the port a script
hands to a server it starts.

    from _common import load_average, measured_at, run, threads   # the scripts run as `python bench/NAME.py`
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any, Callable


def load_average(one_minute: bool = False) -> str:
    """'1.52 1.31 1.20': the 1-, 5- and 15-minute load averages; '1.52' with `one_minute`."""
    loads = os.getloadavg()
    return " ".join(f"{x:.2f}" for x in (loads[:1] if one_minute else loads))


def utc_now(fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    return time.strftime(fmt, time.gmtime())


def measured_at() -> str:
    """'2026-12-02 10:15 UTC, load average 1.52 1.31 1.20 on 2 CPUs': the line printed at a run's start and end."""
    return f"{utc_now()}, load average {load_average()} on {os.cpu_count()} CPUs"


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server started next (`vmed serve`, llama_cpp.server). Another process may
    take it before the server binds it (the server then fails to start and the script says so); the package's own
    engine (llm/engine.py) has no such gap: llama-server binds port 0 and its log says which port it got."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def threads(text: str) -> int:
    """argparse `type=` of every script's --threads: the CLI's check (`cli_options.check_threads`: 1 or more, 0 is
    an error, not 'all cores'), reported as argparse reports any bad argument (usage, then the error, exit 2)."""
    import argparse

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from visual_med_alpaca.cli_options import check_threads
    from visual_med_alpaca.errors import UserInputError

    try:
        return check_threads(int(text))
    except ValueError as exc:  # not a whole number, or UserInputError (a ValueError): argparse would hide the message
        message = str(exc) if isinstance(exc, UserInputError) else f"--threads is a whole number, not {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def run(main: Callable[[], Any]) -> Any:
    """`main()` (its result returned), with bad input (the package's UserInputError: a missing file or folder, an
    unknown id) as one 'error: ...' line and exit status 2, as `vmed` reports it, instead of a traceback."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from visual_med_alpaca.errors import UserInputError

    try:
        return main()
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
