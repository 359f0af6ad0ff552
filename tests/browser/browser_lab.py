"""A private JupyterLab for the browser tests, and the processes it (and its kernels) started.

``LabServer`` serves a directory on a free loopback port, with no token or password, and with
its own temporary config, data, runtime, settings and workspaces directories, so nothing the
learner or another test configured leaks in and nothing leaks out. It runs in a new session
(``start_new_session=True``); ``stop()`` signals only that process group (SIGTERM, then SIGKILL
after a timeout), then ends, by PID, any process that still carries this server's marker
environment variable (its kernels run in their own process groups, and the uvicorn servers a
kernel starts inherit the marker too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, cast

import psutil

from lessons.processes import ServerExited, free_port, spawn, stop, wait_until_ready

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
MARKER = "COURSE_BROWSER_TEST_LAB"  # env var carried by the server and everything it starts
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

# JupyterLab settings for a quiet, deterministic browser session. windowingMode "none" attaches
# every cell to the DOM (the default renders offscreen cells lazily), so the tests can inspect
# all of them; it does not change how a cell looks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def marked_processes(marker_value: str) -> list[psutil.Process]:
    """Every live process whose environment has ``MARKER=marker_value``."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get(MARKER) == marker_value:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return ""


class LabServer:
    """One JupyterLab serving ``root`` (a temporary directory the caller owns)."""

    def __init__(self, root: Path, state_dir: Path) -> None:
        self.root = Path(root)
        self.state = Path(state_dir)
        self.marker = uuid.uuid4().hex
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.state / "jupyterlab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)  # REDIS_URL stays only if this test run has it
        for name in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_TOKEN", "JUPYTER_PASSWORD"):
            env.pop(name, None)
        dirs = {
            name: self.state / sub
            for name, sub in [
                ("JUPYTER_CONFIG_DIR", "config"),
                ("JUPYTER_DATA_DIR", "data"),
                ("JUPYTER_RUNTIME_DIR", "runtime"),
                ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                ("IPYTHONDIR", "ipython"),
            ]
        }
        for name, path in dirs.items():
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        for rel, values in LAB_SETTINGS.items():
            target = dirs["JUPYTERLAB_SETTINGS_DIR"] / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values), encoding="utf-8")
        # The venv's python3 kernel: jupyter_client runs a "python" kernelspec with the server's
        # own interpreter (this venv), and the venv's bin comes first on PATH.
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        env["JUPYTER_PREFER_ENV_PATH"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        env[MARKER] = self.marker
        return env

    def _command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            f"--LabApp.user_settings_dir={self.state / 'settings'}",
            f"--LabApp.workspaces_dir={self.state / 'workspaces'}",
        ] + (["--allow-root"] if os.geteuid() == 0 else [])  # CI runs as root

    def start(self) -> LabServer:
        env = self._env()
        for _attempt in range(3):  # a port taken between free_port() and bind(): try another
            self.port = free_port()
            self.process = spawn(
                self._command(), env=env, cwd=self.root, log_path=self.log_path, new_session=True
            )
            try:
                wait_until_ready(self.process, f"{self.url}/api/status", timeout=START_TIMEOUT)
                return self
            except (ServerExited, TimeoutError):
                self.stop()
        raise RuntimeError(f"JupyterLab did not start; log tail:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    # -- REST ----------------------------------------------------------------------------
    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def kernels(self) -> list[dict[str, Any]]:
        return cast("list[dict[str, Any]]", self.api("GET", "/api/kernels"))

    def shutdown_sessions(self, path: str) -> None:
        """Shut down the sessions (and so the kernels) of the notebook at ``path``."""
        for session in self.api("GET", "/api/sessions"):
            if session.get("path") == path:
                try:
                    self.api("DELETE", f"/api/sessions/{session['id']}")
                except urllib.error.HTTPError:
                    pass

    def shutdown_all_kernels(self) -> None:
        """Shut down every kernel and session of this server (between tests)."""
        for session in self.api("GET", "/api/sessions"):
            try:
                self.api("DELETE", f"/api/sessions/{session['id']}")
            except urllib.error.HTTPError:
                pass
        for kernel in self.kernels():
            try:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
            except urllib.error.HTTPError:
                pass

    # -- processes -----------------------------------------------------------------------
    def processes(self) -> list[psutil.Process]:
        """Every live process this server or its kernels started (by the marker)."""
        own = self.process.pid if self.process else None
        return [p for p in marked_processes(self.marker) if p.pid != own]

    def stop(self) -> None:
        """SIGTERM this server's process group, SIGKILL after a timeout; then end stragglers."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            stop(process, timeout=STOP_TIMEOUT, group=True)  # it leads its own group
        if process is not None:
            # Kernels run in their own process groups; whatever carries our marker is ours.
            left = marked_processes(self.marker)
            for proc in left:
                try:
                    proc.terminate()
                except psutil.NoSuchProcess:
                    pass
            _gone, alive = psutil.wait_procs(left, timeout=5)
            for proc in alive:
                try:
                    proc.kill()
                except psutil.NoSuchProcess:
                    pass
