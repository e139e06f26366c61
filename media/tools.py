"""External tools run with a time limit: a run past it is stopped and fails saying which tool,
what it was doing and the limit."""
from __future__ import annotations

import subprocess
import threading
import time
from contextlib import contextmanager

from . import MediaError


class ToolFailed(MediaError):
    """The tool ran and failed; ``stderr`` holds what it said."""

    def __init__(self, tool: str, stderr: bytes):
        super().__init__(f"{tool} failed")
        self.stderr = stderr


def run(args: list[str], timeout: float, what: str) -> bytes:
    """Run the tool ``args[0]`` without input; its stdout. ToolFailed (with stderr) if it fails;
    MediaError if it is missing or still runs after ``timeout`` seconds (it is killed)."""
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except FileNotFoundError:
        raise MediaError(f"{args[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise MediaError(stopped(args[0], timeout, what)) from None
    if done.returncode != 0:
        raise ToolFailed(args[0], done.stderr)
    return done.stdout


def stopped(tool: str, timeout: float, what: str) -> str:
    """The message of a run stopped at its time limit."""
    return (f"{tool} was stopped after {timeout:g} s {what}: the file is damaged or too demanding "
            f"(the limit is the setting TOOL_TIMEOUT)")


@contextmanager
def stop_at(image, deadline: float | None):
    """libvips abandons computing ``image`` (a pyvips.Image) once ``deadline`` (time.monotonic())
    has passed: a timer kills it and the computation fails with pyvips.Error. (libvips' "eval"
    progress signal is not emitted on every pipeline, so it cannot be relied on for this.)"""
    if deadline is None:
        yield
        return
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), image.set_kill, [True])
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        image.set_kill(False)  # (libvips' operation cache may hand the image out again)
