"""Fixtures for the desktop end-to-end tests: the fake Cloudflare as a process, tauri-driver, and
the app under WebDriver (Selenium). Run through scripts/test-desktop.sh (Xvfb + D-Bus + keyring)."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
APP = Path(os.environ.get("STREAMPAI_DESKTOP_BIN", TARGET / "debug" / "streampai-desktop"))
FAKE = Path(os.environ.get("FAKE_CLOUDFLARE_BIN", TARGET / "debug" / "fake-cloudflare"))
ENGINE = Path(os.environ.get("STREAMPAI_BIN", TARGET / "debug" / "streampai"))
# Screenshots go to an ignored folder (the checkout stays clean); scripts/refresh-screenshots.sh
# copies them into docs/screenshots/ on purpose.
SHOTS = Path(os.environ.get("STREAMPAI_SCREENSHOTS", TARGET / "screenshots"))
ACCOUNT = "e2eaccount0000000000000000000001"
TOKEN = "e2e-cloudflare-token"
CONTROL_TOKEN = "e2e-control-token"
RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """A `wait_for` condition: something accepts TCP connections on 127.0.0.1:`port`."""
    def check():
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    return check


def wait_for(what, cond, timeout=20.0, every=0.1, show=None):
    """Polls `cond` until truthy; on timeout the message includes `show()` (e.g. the text seen)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = cond()
            if last:
                return last
        except Exception as e:  # a page in flux: try again
            last = e
        time.sleep(every)
    seen = ""
    if show:
        try:
            seen = f"; seen: {show()!r}"
        except Exception as e:
            seen = f"; seen: {e!r}"
    raise AssertionError(f"timed out waiting for {what} (last: {last!r}{seen})")


def el(driver, testid):
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def text(driver, testid):
    return el(driver, testid).text


def shown(driver, testid):
    """The element is on the page and displayed."""
    found = driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')
    return bool(found) and found[0].is_displayed()


def click(driver, testid):
    """Clicks once the element is displayed and enabled."""
    wait_for(f"{testid} clickable", lambda: shown(driver, testid) and el(driver, testid).is_enabled())
    el(driver, testid).click()


def goto(driver, view):
    """Shows a page (its navigation link marked active)."""
    driver.execute_script(f"location.hash = '#/{view}'")
    wait_for(f"{view} page", lambda: "active" in el(driver, f"nav-{view}").get_attribute("class"))


def typed(driver, testid, value):
    box = el(driver, testid)
    box.clear()
    box.send_keys(value)


@contextmanager
def nginx_rtmp(root, applications):
    """A real nginx-rtmp (one process, its own process group) on a random loopback port, serving
    `applications` (the `application NAME { ... }` blocks) from the folder `root`; yields the
    port, stops it on exit. Its error log is `root/logs/error.log`."""
    (root / "conf").mkdir(parents=True)
    (root / "logs").mkdir()
    port = free_port()
    (root / "conf" / "nginx.conf").write_text(
        f"load_module {RTMP_MODULE};\ndaemon off;\nmaster_process off;\nworker_processes 1;\n"
        "pid logs/nginx.pid;\nerror_log logs/error.log info;\nevents { worker_connections 64; }\n"
        f"rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n{applications}\n}} }}\n"
    )
    proc = subprocess.Popen(["nginx", "-p", str(root), "-c", "conf/nginx.conf", "-e", "logs/error.log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for("nginx listening", listening(port))
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def http(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


class Fake:
    def __init__(self, proc, base):
        self.proc, self.base = proc, base
        self.root = base.split("/client/v4")[0]

    def inputs(self):
        return http("GET", f"{self.root}/__fake/live_inputs")

    def input_uid(self):
        items = self.inputs()
        items = items.get("live_inputs", items) if isinstance(items, dict) else items
        return items[0]["uid"] if items else None

    def connect(self, uid, connected=True):
        http("POST", f"{self.root}/__fake/live_inputs/{uid}/connected", {"connected": connected})

    def outputs(self, uid):
        out = http("GET", f"{self.root}/__fake/live_inputs/{uid}/outputs")
        return out.get("outputs", out) if isinstance(out, dict) else out


@pytest.fixture(scope="session")
def fake():
    proc = subprocess.Popen(
        [str(FAKE), "--listen", "127.0.0.1:0", "--account-id", ACCOUNT, "--token", TOKEN],
        stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline()
    m = re.match(r"FAKE_CLOUDFLARE_BASE=(\S+)", line)
    assert m, f"fake-cloudflare said: {line!r}"
    yield Fake(proc, m.group(1))
    proc.terminate()
    proc.wait(10)


class SyncServer:
    def __init__(self, proc, url, token, data):
        self.proc, self.url, self.token, self.data = proc, url, token, data


@pytest.fixture(scope="session")
def sync_server():
    """A real `streampai sync-server` on loopback with one user (its token printed once)."""
    assert ENGINE.exists(), f"build the engine binary first: {ENGINE}"
    data = TARGET / "e2e-run" / "sync"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    added = subprocess.run([str(ENGINE), "sync-server", "user", "add", "e2e", "--data", str(data)],
                           capture_output=True, text=True, timeout=30, check=True)
    token = added.stdout.strip()
    assert token and "\n" not in token, added
    log = data / "server.log"
    proc = subprocess.Popen(
        [str(ENGINE), "sync-server", "--listen", f"127.0.0.1:{free_port()}", "--data", str(data)],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": "info"},
    )
    found = lambda: re.search(r"sync server on (ws://\S+)", log.read_text())
    m = wait_for("the sync server", lambda: found() or (proc.poll() is not None and "exited"), show=log.read_text)
    assert m != "exited", log.read_text()
    url = m.group(1).removesuffix("/sync")
    yield SyncServer(proc, url, token, data)
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def work():
    """A scratch folder for the session (removed after it)."""
    d = Path(tempfile.mkdtemp(prefix="streampai-e2e-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def control_port():
    return free_port()


@pytest.fixture(scope="session")
def local_port():
    """Where the local relay takes OBS in these tests (never the shared 1935)."""
    return free_port()


@pytest.fixture(scope="session")
def app_env(fake, control_port, local_port):
    data = TARGET / "e2e-run" / "data"  # kept after the run: logs/ has the app's log
    shutil.rmtree(data, ignore_errors=True)
    os.environ.update({
        "STREAMPAI_DATA_DIR": str(data),
        "STREAMPAI_CLOUDFLARE_API_BASE": fake.base,
        "STREAMPAI_POLL_INTERVAL_MS": "500",
        "STREAMPAI_CLEANUP_TIMEOUT_MS": "2000",
        "STREAMPAI_CONTROL_LISTEN": f"127.0.0.1:{control_port}",
        "STREAMPAI_CONTROL_TOKEN": CONTROL_TOKEN,
        "STREAMPAI_LOCAL_LISTEN": f"127.0.0.1:{local_port}",
        # A closed port: never drive an OBS that happens to run on this machine (test_obs.py
        # starts its own).
        "STREAMPAI_OBS_URL": f"ws://127.0.0.1:{free_port()}",
        "RUST_LOG": os.environ.get("RUST_LOG", "info"),
    })
    return os.environ


def start_tauri_driver(log_name, env=None):
    """tauri-driver (→ WebKitWebDriver) in its own process group: (process, port, native port)."""
    port, native_port = free_port(), free_port()
    tauri_driver = shutil.which("tauri-driver") or str(Path.home() / ".cargo/bin/tauri-driver")
    log = open(TARGET / log_name, "w")
    proc = subprocess.Popen(
        [tauri_driver, "--port", str(port), "--native-port", str(native_port),
         "--native-driver", "/usr/bin/WebKitWebDriver"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env,
    )
    return proc, port, native_port


def open_app(port, native_port):
    """A WebDriver session on the app (tauri-driver launches it)."""
    # tauri-driver forwards to WebKitWebDriver, which may come up later on a loaded machine.
    wait_for("tauri-driver", listening(port))
    wait_for("WebKitWebDriver", listening(native_port))
    options = ArgOptions()
    options.set_capability("browserName", "wry")
    options.set_capability("tauri:options", {"application": str(APP)})
    drv = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
    drv.implicitly_wait(0)
    return drv


@pytest.fixture(scope="session")
def driver(app_env):
    assert APP.exists(), f"build the app first: {APP}"
    proc, port, native_port = start_tauri_driver("tauri-driver.log")
    try:
        drv = open_app(port, native_port)
    except BaseException:
        stop_group(proc)
        raise
    yield drv
    try:
        drv.quit()
    except Exception:
        pass
    finally:
        stop_group(proc)


def stop_group(proc):
    """SIGTERM to the process group (tauri-driver, WebKitWebDriver, the app), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(10)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def control(control_port, path="/api/v1/status"):
    return http("GET", f"http://127.0.0.1:{control_port}{path}", token=CONTROL_TOKEN)


def clipboard():
    """The X clipboard's text (what Copy put there), or None."""
    out = subprocess.run(["xclip", "-o", "-selection", "clipboard"], capture_output=True, text=True, timeout=5, check=False)
    return out.stdout if out.returncode == 0 else None


def screenshot(driver, name):
    """The app window as X shows it (imagemagick), into SHOTS (see refresh-screenshots.sh). The window sits at 0,0 (no
    window manager). WebDriver's own screenshot is not used: WebKit's snapshot hangs when
    compositing is off, which is the app's default."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.4)  # let the last change paint
    size = driver.get_window_size()
    crop = f"{size['width']}x{size['height']}+0+0"
    subprocess.run(["import", "-window", "root", "-crop", crop, "+repage", str(SHOTS / f"{name}.png")], check=False)
