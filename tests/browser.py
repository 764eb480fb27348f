"""Open review pages in headless Chromium and check that they rendered.

A test helper, not part of the package: the browser tests import it (`from browser import …`),
and it runs on its own on a run folder:

    python tests/browser.py outputs/latest [--screenshots DIR]

Chromium runs headless with the network cut off (every host name resolves to nothing, and a dead
proxy is set). It is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`), so
no port is opened and no extra library is needed. For each page the check records the seconds
until the page says it is drawn, console errors and uncaught exceptions, every request that was
not for a local file, the result of a probe expression run in the page, and a screenshot.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    # software WebGL: headless has no GPU, and plotly's scattergl needs WebGL
    "--enable-unsafe-swiftshader",
    # no network: nothing resolves, and any proxied request goes nowhere
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "chrome-error:", "devtools:")

# Map page: drawn when the page script has set data-rendered; the probe reads plotly's own state.
MAP_READY = "document.body && document.body.dataset.rendered !== undefined"
MAP_PROBE = """(() => {
  const gd = document.getElementById('map');
  const full = gd && gd._fullData ? gd._fullData : [];
  const canvases = Array.from(gd ? gd.querySelectorAll('canvas') : []).filter(c => c.width > 0 && c.height > 0);
  return {
    rendered: Number(document.body.dataset.rendered),
    renderedAtMs: window.mapRenderedAt || null,
    traceTypes: full.map(t => t.type),
    points: full.reduce((n, t) => n + (t.x ? t.x.length : 0), 0),
    labels: Array.from(document.querySelectorAll('#map .annotation-text')).map(e => e.textContent),
    canvases: canvases.length,
    scatterSvgPoints: gd ? gd.querySelectorAll('.scatterlayer .point').length : 0,
  };
})()"""
REPORT_READY = "document.readyState === 'complete'"
REPORT_PROBE = """(() => ({
  title: document.title,
  topics: Array.from(document.querySelectorAll('section.topic h3')).map(e => e.textContent.trim()),
  facts: Object.fromEntries(Array.from(document.querySelectorAll('dl.facts div'))
    .map(d => [d.querySelector('dt').textContent, d.querySelector('dd').textContent])),
  links: Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href')),
  bodyText: document.body.innerText.length,
}))()"""


class BrowserError(RuntimeError):
    """Chromium could not be started or did not answer."""


def find_chromium() -> str | None:
    """The Chromium binary: $CHROMIUM if set, else the first known name on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageCheck:
    """What one page did in the browser."""

    url: str
    seconds_to_ready: float | None  # None: never became ready within the timeout
    probe: Any
    console_errors: list[str] = field(default_factory=list)
    network_requests: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def problems(self) -> list[str]:
        found: list[str] = []
        if self.seconds_to_ready is None:
            found.append("never finished drawing")
        found += [f"console error: {e}" for e in self.console_errors]
        found += [f"network request: {u}" for u in self.network_requests]
        return found


class Chromium:
    """A headless Chromium driven over the DevTools protocol on a pipe. Use as a context manager."""

    def __init__(self, binary: str | None = None, window: tuple[int, int] = (1400, 900)) -> None:
        found = binary or find_chromium()
        if not found:
            raise BrowserError("Chromium not found: install the Debian package `chromium`, or set CHROMIUM to its path")
        self.binary: str = found
        self.window = window
        self._next_id = 0
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> "Chromium":
        self._profile = tempfile.mkdtemp(prefix="cluster-chromium-")
        command_read, self._command_write = os.pipe()
        self._reply_read, reply_write = os.pipe()
        # move the child's ends above fd 9, so that the shell's `3<&N 4>&M` cannot clobber one
        # with the other (under pytest the pipes can land on fds 3 and 4 themselves)
        command_read, reply_write = (_high_fd(fd) for fd in (command_read, reply_write))
        self._log = tempfile.NamedTemporaryFile(prefix="cluster-chromium-", suffix=".log", delete=False)
        flags = [
            *CHROMIUM_FLAGS,
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile}",
            f"--window-size={self.window[0]},{self.window[1]}",
            "about:blank",
        ]
        # Chromium reads commands on fd 3 and answers on fd 4; the shell puts the pipes there.
        # bash, not sh: dash refuses two-digit fd numbers in redirections
        shell = [shutil.which("bash") or "bash", "-c", f'exec "$0" "$@" 3<&{command_read} 4>&{reply_write}']
        self._process = subprocess.Popen(
            [*shell, self.binary, *flags],
            pass_fds=(command_read, reply_write),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        os.close(command_read)
        os.close(reply_write)
        threading.Thread(target=self._read_replies, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._send("Browser.close", timeout=5)
        except BrowserError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._command_write)
        shutil.rmtree(self._profile, ignore_errors=True)
        self._log.close()
        os.unlink(self._log.name)

    def _log_tail(self) -> str:
        try:
            lines = Path(self._log.name).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f"; its last output: {' | '.join(lines[-3:])}" if lines else ""

    def _read_replies(self) -> None:
        buffer = b""
        with os.fdopen(self._reply_read, "rb") as replies:
            while True:
                chunk = replies.read1(1 << 20)
                if not chunk:
                    self._messages.put(None)
                    return
                buffer += chunk
                while b"\0" in buffer:
                    message, buffer = buffer.split(b"\0", 1)
                    self._messages.put(json.loads(message))

    def _send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._command_write, json.dumps(message).encode() + b"\0")
        except OSError as exc:
            raise BrowserError(f"Chromium is gone ({exc}){self._log_tail()}") from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise BrowserError(f"no answer to {method} within {timeout:.0f} s") from None
            if reply is None:
                raise BrowserError(f"Chromium closed the connection{self._log_tail()}")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._events.append(reply)

    def _drain(self) -> None:
        while True:
            try:
                message = self._messages.get_nowait()
            except queue.Empty:
                return
            if message is not None:
                self._events.append(message)

    def check(
        self, page: Path, ready: str, probe: str, screenshot: Path | None = None, timeout: float = 60
    ) -> PageCheck:
        """Load `page`, wait until the `ready` expression is true, run `probe`, take a screenshot."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self._send(f"{domain}.enable", session=session)
        width, height = self.window
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self._events.clear()
        url = page.resolve().as_uri()
        started = time.monotonic()
        self._send("Page.navigate", {"url": url}, session=session)
        seconds = None
        while time.monotonic() - started < timeout:
            is_ready = {"expression": f"Boolean({ready})", "returnByValue": True}
            result = self._send("Runtime.evaluate", is_ready, session=session)
            if result.get("result", {}).get("value") is True:
                seconds = round(time.monotonic() - started, 3)
                break
            time.sleep(0.05)
        time.sleep(0.3)  # let late console messages and requests arrive
        # awaitPromise: a probe may be async (e.g. type into the search box, then look)
        run_probe = {"expression": probe, "returnByValue": True, "awaitPromise": True}
        value = self._send("Runtime.evaluate", run_probe, session=session)
        probed = value.get("result", {}).get("value")
        if screenshot is not None:
            shot = self._send("Page.captureScreenshot", {"format": "png"}, session=session)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        self._drain()
        errors, requests = _problems(self._events, session)
        self._send("Target.closeTarget", {"targetId": target})
        return PageCheck(url, seconds, probed, errors, requests, screenshot)


def _high_fd(fd: int) -> int:
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


def _problems(events: list[dict[str, Any]], session: str) -> tuple[list[str], list[str]]:
    """Console errors, exceptions and non-local requests among one page's events."""
    errors: list[str] = []
    requests: list[str] = []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(LOCAL_SCHEMES):
                requests.append(url)
    return errors, requests


def check_run_folder(folder: Path, screenshots: Path, timeout: float = 60) -> dict[str, PageCheck]:
    """Open the run folder's topic_map.html and report.html; screenshots go to `screenshots`."""
    screenshots.mkdir(parents=True, exist_ok=True)
    pages = {"topic_map.html": (MAP_READY, MAP_PROBE), "report.html": (REPORT_READY, REPORT_PROBE)}
    checks: dict[str, PageCheck] = {}
    with Chromium() as browser:
        for name, (ready, probe) in pages.items():
            if (folder / name).is_file():
                shot = screenshots / f"{Path(name).stem}.png"
                checks[name] = browser.check(folder / name, ready, probe, shot, timeout)
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Open a run folder's topic_map.html and report.html in headless Chromium."
    )
    parser.add_argument("run_folder", type=Path)
    parser.add_argument(
        "--screenshots", type=Path, default=None, help="folder for the screenshots (default: a temporary folder)"
    )
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args(argv)
    screenshots = args.screenshots or Path(tempfile.mkdtemp(prefix="cluster-screenshots-"))
    try:
        checks = check_run_folder(args.run_folder, screenshots, args.timeout)
    except BrowserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not checks:
        print(f"error: no topic_map.html or report.html in {args.run_folder}", file=sys.stderr)
        return 2
    failed = False
    for name, check in checks.items():
        print(f"{name}: ready after {check.seconds_to_ready} s; screenshot {check.screenshot}")
        print(f"  probe: {json.dumps(check.probe)[:500]}")
        for problem in check.problems:
            failed = True
            print(f"  PROBLEM {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
