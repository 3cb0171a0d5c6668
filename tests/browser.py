"""A headless Chromium driven over its DevTools protocol, just enough to check a page like a person.

Debian's ``chromium`` package is the browser (nothing is downloaded); ``websockets`` (a Prefect
dependency) speaks the protocol. ``Browser.open(url)`` loads a page, ``text()`` is what it shows,
``click_text(label)`` presses a tab or button by its words, ``screenshot(path)`` saves a PNG;
``fill(selector, text)`` types into a field, ``choose_files(selector, paths)`` sets a file input and
``downloads_to(folder)`` lets the page save downloads there.
``chromium_path()`` says whether the browser is installed at all (tests skip or fail on that).
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Self

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-port=0"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One Chromium process with one page; use as a context manager so the process always ends."""

    def __init__(self, width: int = 1400, height: int = 1000):
        self.profile = tempfile.TemporaryDirectory(prefix="phonesys-chromium-", ignore_cleanup_errors=True)
        self.process = subprocess.Popen([chromium_path() or "chromium", *FLAGS, f"--user-data-dir={self.profile.name}",
                                         f"--window-size={width},{height}", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._ids = itertools.count(1)
        self._socket = None
        try:
            self._socket = self._connect(self._devtools_port())
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.__exit__()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        if self._socket is not None:
            self._socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.profile.cleanup()

    def _devtools_port(self, timeout: float = 30) -> int:
        """Chromium writes its chosen port into DevToolsActivePort in the profile once it listens."""
        marker = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (marker.exists() and marker.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not open its DevTools port (exit {self.process.poll()})")
            time.sleep(0.1)
        return int(marker.read_text().split()[0])

    def _connect(self, port: int):
        from websockets.sync.client import connect

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            pages = [t for t in json.load(response) if t["type"] == "page"]
        return connect(pages[0]["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024)

    def call(self, method: str, **params: Any) -> dict:
        """Send one DevTools command and return its result (events in between are skipped)."""
        request_id = next(self._ids)
        self._socket.send(json.dumps({"id": request_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == request_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def wait_for_text(self, *needles: str, timeout: float = 60) -> str:
        """The page's text once it contains every needle; AssertionError with what it showed otherwise."""
        deadline = time.monotonic() + timeout
        while not all(needle in (shown := self.text()) for needle in needles):
            if time.monotonic() > deadline:
                raise AssertionError(f"page never showed {needles}; it showed:\n{shown[:3000]}")
            time.sleep(0.25)
        return shown

    def click_text(self, label: str) -> bool:
        """Click the innermost element whose whole visible text is ``label`` (a tab, button, card title)."""
        script = ("(() => { const label = LABEL; const found = [...document.querySelectorAll('body *')]"
                  ".filter(e => e.innerText && e.innerText.trim() === label).pop();"
                  " if (found) found.click(); return !!found; })()")
        return bool(self.evaluate(script.replace("LABEL", json.dumps(label))))

    def screenshot(self, path: Path) -> int:
        """Save the visible page as PNG; returns its size in bytes."""
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(data)
        return len(data)

    def fill(self, selector: str, text: str) -> None:
        """Set a field's value and fire ``input``, as typing would (the page's scripts react to it)."""
        script = ("(() => { const e = document.querySelector(SELECTOR); e.value = TEXT;"
                  " e.dispatchEvent(new Event('input', {bubbles: true})); })()")
        self.evaluate(script.replace("SELECTOR", json.dumps(selector)).replace("TEXT", json.dumps(text)))

    def choose_files(self, selector: str, paths: list[Path]) -> None:
        """What picking files in the file dialog does (``DOM.setFileInputFiles``)."""
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", nodeId=node, files=[str(p) for p in paths])

    def downloads_to(self, folder: Path) -> None:
        self.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(folder))
