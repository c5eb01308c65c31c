"""End-to-end with no Secret Service (plain Xvfb session, no unlocked keyring): the app keeps its
secrets in `<data dir>/secrets.json`. First run in local mode (the default) with one platform,
quit, start again: the platform's key is still there, and `streampai status` reaches the app with
the control token the app stored (no STREAMPAI_CONTROL_TOKEN anywhere)."""
import json
import os
import shutil
import socket
import stat
import subprocess
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import APP, ENGINE, TARGET, el, free_port, open_app, screenshot, start_tauri_driver, stop_group, typed, wait_for

NAME = "twitch-main"
KEY = "live_no_keyring_key_123"


def find(driver, testid):
    found = driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')
    return found[0] if found and found[0].is_displayed() else None


def page_text(driver):
    return driver.execute_script("return document.body.innerText")


@pytest.fixture(scope="module")
def run():
    """The app's environment: its own data folder and control port; no secrets from env."""
    assert APP.exists(), f"build the app first: {APP}"
    assert ENGINE.exists(), f"build the engine binary first: {ENGINE}"
    data = TARGET / "e2e-run" / "no-keyring"
    shutil.rmtree(data, ignore_errors=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPAI_")}
    env.update(STREAMPAI_DATA_DIR=str(data), STREAMPAI_CONTROL_LISTEN=f"127.0.0.1:{port}",
               RUST_LOG=os.environ.get("RUST_LOG", "info"))
    return {"env": env, "data": data, "port": port}


@pytest.fixture(scope="module")
def sessions(run):
    """tauri-driver started with the app's environment; `new()` launches the app in a new session."""
    proc, port, native_port = start_tauri_driver("tauri-driver-no-keyring.log", env=run["env"])
    opened = []

    def new():
        drv = open_app(port, native_port)
        opened.append(drv)
        return drv

    try:
        yield new
    finally:
        for drv in opened:
            try:
                drv.quit()
            except Exception:
                pass
        stop_group(proc)


def cli_status(run):
    """`streampai status` as a user types it: only the data folder and the address in env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPAI_")}
    env.update(STREAMPAI_DATA_DIR=str(run["data"]), STREAMPAI_CONTROL_LISTEN=f"127.0.0.1:{run['port']}")
    return subprocess.run([str(ENGINE), "status"], env=env, capture_output=True, text=True, timeout=60)


def control_up(run):
    try:
        socket.create_connection(("127.0.0.1", run["port"]), timeout=1).close()
        return True
    except OSError:
        return False


def secret_backend(driver):
    """The desktop command Settings uses, called in the real window."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.__TAURI_INTERNALS__.invoke('get_secret_backend').then(done, (e) => done({error: String(e)}));"
    )


def first_run_with_one_platform(driver):
    """Through the first run in local mode (nothing chosen: the default), adding one platform.
    Tolerant of the wizard's steps and wording: it adds the platform when the platform form
    shows, and otherwise presses the step buttons (next / skip / finish) until the app's
    navigation appears."""
    added = False
    deadline = time.time() + 60
    while time.time() < deadline:
        if find(driver, "nav-dashboard"):
            return added
        if not added and find(driver, "pf-kind"):
            Select(el(driver, "pf-kind")).select_by_value("twitch")
            typed(driver, "pf-name", NAME)
            typed(driver, "pf-key", KEY)
            el(driver, "pf-save").click()
            wait_for("platform added", lambda: NAME in page_text(driver) and not (find(driver, "pf-error") and find(driver, "pf-error").text),
                     show=lambda: page_text(driver))
            added = True
            screenshot(driver, "no-keyring-first-run")
            continue
        order = ["setup-finish", "setup-next"] if added else ["setup-next", "setup-skip", "setup-finish"]
        button = next((b for b in (find(driver, t) for t in order) if b and b.is_enabled()), None)
        if button:
            button.click()
            time.sleep(0.3)  # the next step renders
        else:
            time.sleep(0.1)
    raise AssertionError(f"first run did not end; page: {page_text(driver)!r}")


def platform_row(driver):
    driver.execute_script("location.hash = '#/platforms'")
    return wait_for("the platform's row", lambda: find(driver, f"platform-row-{NAME}"), show=lambda: page_text(driver))


def test_without_a_keyring_keys_and_the_control_token_survive_a_restart(run, sessions):
    driver = sessions()
    wait_for("first run", lambda: find(driver, "setup"), show=lambda: page_text(driver))
    assert first_run_with_one_platform(driver), "the first run never showed the platform form"

    # The key went to the secrets file (0600), and the app says so.
    secrets_file = run["data"] / "secrets.json"
    stored = json.loads(secrets_file.read_text())["secrets"]
    assert stored.get(f"stream-key:{NAME}") == KEY
    assert "control-token" in stored, "the control token is kept for the CLI"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    backend = secret_backend(driver)
    assert backend.get("kind") == "file" and backend.get("path") == str(secrets_file), backend
    logs = "".join(p.read_text() for p in (run["data"] / "logs").glob("*.log"))
    assert "secrets are stored in" in logs and str(secrets_file) in logs, logs[-2000:]

    row = platform_row(driver)
    assert "no key" not in row.text, row.text
    wait_for("control API", lambda: control_up(run))
    out = cli_status(run)
    assert out.returncode == 0, out
    assert "stream" in json.loads(out.stdout), out.stdout

    # Quit and start again.
    driver.quit()
    wait_for("the app has quit", lambda: not control_up(run), timeout=30)
    driver = sessions()
    row = platform_row(driver)
    assert "no key" not in row.text, f"the key was lost: {row.text}"
    assert find(driver, "setup") is None, "the first run came back"
    screenshot(driver, "no-keyring-after-restart")
    assert secret_backend(driver).get("kind") == "file"
    wait_for("control API", lambda: control_up(run))
    out = cli_status(run)
    assert out.returncode == 0, out
    assert json.loads(out.stdout)["stream"]["state"] == "offline", out.stdout
