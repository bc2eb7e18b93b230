"""What PyTriton's bundled Triton needs from this process: the right libpython, free ports.

PyTriton runs the bound Python functions in this process and talks to them from a
Python-backend *stub* that Triton starts. The stub embeds Python: it must load the running
interpreter's ``libpython``, or it mixes another libpython (e.g. the system's 3.11.2) with
this interpreter's standard library and the model fails to load (``'_thread.RLock' object
has no attribute '_recursion_count'``). Triton's processes inherit ``os.environ`` when
PyTriton launches them, so putting ``sysconfig``'s ``LIBDIR`` first on
``LD_LIBRARY_PATH`` before the server starts is enough; this process need not re-exec.
"""

from __future__ import annotations

import os
import socket
import sysconfig
from pathlib import Path

from mmnet_edge.errors import BackendUnavailableError

SERVE_EXTRA = "pip install 'mmnet-edge[serve]'"


def libpython_dir() -> Path | None:
    """The folder of this interpreter's shared ``libpython`` (None for a static build)."""
    libdir = sysconfig.get_config_var("LIBDIR")
    ldlib = sysconfig.get_config_var("LDLIBRARY") or ""
    if not libdir or not ldlib.endswith(".so") and ".so." not in ldlib:
        return None
    path = Path(libdir) / ldlib
    return Path(libdir) if path.exists() else None


def prepare_stub_environment(environ: dict[str, str] | None = None) -> str:
    """Put this interpreter's libpython first on ``LD_LIBRARY_PATH``; returns the new value.

    Raises BackendUnavailableError for a Python without a shared libpython (PyTriton's stub
    cannot embed it): use a Python built with ``--enable-shared`` (pyenv:
    ``PYTHON_CONFIGURE_OPTS=--enable-shared``; distribution and conda Pythons are).
    """
    env = os.environ if environ is None else environ
    libdir = libpython_dir()
    if libdir is None:
        raise BackendUnavailableError(
            "this Python has no shared libpython, which PyTriton's Python-backend stub must "
            "load; serve from a Python built with --enable-shared (distribution, conda, or "
            "pyenv with PYTHON_CONFIGURE_OPTS=--enable-shared)"
        )
    parts = [p for p in env.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
    parts = [str(libdir)] + [p for p in parts if p != str(libdir)]
    env["LD_LIBRARY_PATH"] = os.pathsep.join(parts)
    return env["LD_LIBRARY_PATH"]


def port_is_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_ports(host: str, ports: dict[str, int]) -> None:
    """BackendUnavailableError naming the option for the first port that is taken."""
    if len(set(ports.values())) != len(ports):
        raise BackendUnavailableError(f"HTTP, gRPC and metrics ports must differ: {ports}")
    for name, port in ports.items():
        if not port_is_free(host, port):
            flag = name.replace("_", "-")
            raise BackendUnavailableError(
                f"port {port} on {host} is in use ({name}); pick another with --{flag} PORT"
            )


def numpy_hint() -> str:
    """Why PyTriton 0.7 may return empty outputs here, when numpy is 2.x."""
    import numpy as np

    if int(np.__version__.split(".")[0]) < 2:
        return ""
    return (
        f" numpy {np.__version__} is installed, but PyTriton ≤ 0.7's Python-backend stub is "
        "built against numpy 1.x (its wheel requires numpy<2) and returns empty outputs "
        f"under numpy 2: install the server in its own environment ({SERVE_EXTRA} in a fresh "
        "venv resolves numpy<2)."
    )


__all__ = [
    "SERVE_EXTRA",
    "check_ports",
    "free_port",
    "libpython_dir",
    "numpy_hint",
    "port_is_free",
    "prepare_stub_environment",
]
