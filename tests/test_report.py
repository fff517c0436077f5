"""results/report.html: self-contained, renders in headless Chromium offline, sections present."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

SECTIONS = [
    "Campaign summary",
    "Concurrent learning",
    "Final model on the held-out test set",
    "Structure of the production glasses",
    "Li transport",
    "Failures and flags",
]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing and running as root."""
    path = shutil.which("chromium")
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium is not installed and cannot be (not root)")
    return path


@pytest.mark.slow
def test_report_renders_offline(local_campaign, tmp_path):
    from playwright.sync_api import sync_playwright

    report = local_campaign / "results" / "report.html"
    html = report.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        text = page.inner_text("body")
        images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        browser.close()
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    for section in SECTIONS:
        assert section in text
    assert len(images) >= 6 and all(w > 100 for w in images)  # every figure decoded
    assert (tmp_path / "report.png").stat().st_size > 50_000
    for comp in ("LPS75", "LPS80"):
        assert comp in text
    assert "S/cm" in html or "sigma_S_cm" in text
