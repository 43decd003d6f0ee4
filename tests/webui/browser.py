"""Headless Chromium through Selenium and Debian's chromedriver (apt-get install chromium
chromium-driver): no browser download, nothing fetched by Selenium Manager.

Selenium's calls block, so each runs in a thread: the daemon under test shares the event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) paths, or None when either is missing."""
    browser = next(
        (p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))),
        None,
    )
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    return (browser, driver) if browser and driver else None


SKIP_REASON = "no chromium + chromedriver (apt-get install chromium chromium-driver)"


class Browser:
    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver
        self._sent: list[str] = []

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def get(self, url: str) -> None:
        await self._call(self.driver.get, url)

    async def evaluate(self, expression: str) -> Any:
        return await self._call(self.driver.execute_script, f"return ({expression});")

    async def wait_for(self, expression: str, within: float = 15.0) -> Any:
        def poll() -> Any:
            wait = WebDriverWait(self.driver, within, poll_frequency=0.1)
            return wait.until(lambda d: d.execute_script(f"return ({expression});"))

        try:
            return await self._call(poll)
        except TimeoutException:
            raise AssertionError(f"not true within {within} s: {expression}") from None

    async def viewport(self, width: int, height: int, *, mobile: bool, scale: float = 1) -> None:
        metrics = {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile}
        await self._call(self.driver.execute_cdp_cmd, "Emulation.setDeviceMetricsOverride", metrics)

    async def screenshot(self, path: Path) -> None:
        """The whole page, not only the viewport."""

        def shoot() -> None:
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            width = self.driver.execute_script("return window.innerWidth")
            self.driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.driver.get_screenshot_as_png())

        await self._call(shoot)

    async def js_errors(self) -> list[str]:
        logs = await self._call(self.driver.get_log, "browser")
        return [e["message"] for e in logs if e.get("level") == "SEVERE"]

    async def sent_requests(self) -> list[str]:
        """Every URL the browser sent a request to so far (any page, any origin, forms too)."""

        def drain() -> list[str]:
            for entry in self.driver.get_log("performance"):
                message = json.loads(entry["message"])["message"]
                if message.get("method") == "Network.requestWillBeSent":
                    self._sent.append(message["params"]["request"]["url"])
            return list(self._sent)

        return await self._call(drain)

    async def requests(self) -> list[str]:
        return await self.evaluate(
            "[location.href, ...performance.getEntriesByType('resource').map((e) => e.name)]"
        )


@contextmanager
def chromium(paths: tuple[str, str]) -> Iterator[Browser]:
    browser, driver_path = paths
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    except WebDriverException as err:
        raise RuntimeError(f"chromium did not start: {err.msg}") from err
    try:
        yield Browser(driver)
    finally:
        driver.quit()
