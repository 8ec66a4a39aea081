"""Every notebook in the students' real client: JupyterLab 4 in headless Chromium, Run All, no error output.

The notebooks run with their tiny parameters, shortened further where the course map gives
`browser_parameters` (fewer epochs): this test shows that they run in JupyterLab; nbval checks the figures.

Needs Debian's Chromium (`apt-get install chromium`); without it these tests skip and say so.
A screenshot of each notebook after its run goes to `build/browser/screenshots/`.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from course_lib.tools.course_map import NOTEBOOKS
from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS, prepare_tiny_copy

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
RUN_TIMEOUT_S = 900

# The notebook's state as JupyterLab's own model sees it: kernel status, code cells run, error outputs.
STATE_JS = """() => {
  if (!window.jupyterapp || !window.jupyterapp.shell) return null;  // the page is still loading
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext.session) return null;
  const cells = panel.content.widgets.map(c => c.model).filter(m => m.type === 'code');
  const errors = [];
  cells.forEach((m, i) => {
    for (const out of m.outputs.toJSON()) {
      if (out.output_type === 'error') errors.push(`code cell ${i}: ${out.ename}: ${out.evalue}`);
    }
  });
  const kernel = panel.sessionContext.session.kernel;
  return {
    kernel: kernel ? kernel.status : 'none',
    cells: cells.length,
    unrun: cells.map((m, i) => m.executionCount === null ? i : -1).filter(i => i >= 0),
    errors: errors,
  };
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab():
    """JupyterLab serving tiny-data copies of the notebooks (outputs cleared) on 127.0.0.1; yields (url, token)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium: install Debian's package (`sudo apt-get install chromium`) to run the browser tests")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra) for the browser tests")
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "screenshots").mkdir(parents=True)
    for nb in NOTEBOOKS:
        prepare_tiny_copy(nb, CHECKOUT_NOTEBOOKS, WORK, clear_outputs=True, overrides=nb.browser_parameters)
    token, port = secrets.token_hex(16), _free_port()
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", f"--ServerApp.root_dir={WORK}", f"--IdentityProvider.token={token}",
        "--LabApp.expose_app_in_browser=True", "--ServerApp.port_retries=0",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with open(WORK / "jupyterlab.log", "w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=WORK)
        try:
            _wait_for(f"{url}/api/status?token={token}", server)
            yield url, token
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_for(url: str, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.returncode}; see {WORK / 'jupyterlab.log'}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer at {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("name", [nb.name for nb in NOTEBOOKS])
def test_run_all_in_jupyterlab_leaves_every_cell_run_and_no_error(name, lab, browser):
    url, token = lab
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(f"{url}/lab/tree/{name}?reset&token={token}")
        page.wait_for_function(f"(({STATE_JS})()) !== null && (({STATE_JS})()).kernel === 'idle'", timeout=120_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        state = _wait_until_run(page)
        page.screenshot(path=str(WORK / "screenshots" / f"{Path(name).stem}.png"))
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    finally:
        page.close()
    assert state["errors"] == [], f"{name}: error output in JupyterLab"
    assert state["unrun"] == [], f"{name}: code cells left unexecuted: {state['unrun']}"


def _wait_until_run(page) -> dict:
    """Poll JupyterLab until every code cell has run and the kernel is idle, or an error shows, or time is up."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        state = page.evaluate(STATE_JS)
        if state["errors"] or (not state["unrun"] and state["kernel"] == "idle"):
            return state
    return state
