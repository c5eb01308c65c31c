"""The tray for real: a tray host (trayer) under Xvfb, the app's icon clicked with xdotool, menu
items chosen with the keyboard. Its own app process (no WebDriver: it cannot reach the tray)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import APP, CONTROL_TOKEN, free_port, http, wait_for

pytestmark = pytest.mark.skipif(not shutil.which("trayer") or not shutil.which("xdotool"), reason="needs trayer and xdotool")


def tray_icon_geometry():
    """Absolute x, y, w, h of the app's tray icon window (embedded in trayer)."""
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
    for line in tree.splitlines():
        if "tray-icon tray app" in line:
            wid = line.split()[0]
            info = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True).stdout
            nums = {k: int(v) for k, v in re.findall(r"(Absolute upper-left [XY]|Width|Height):\s+(-?\d+)", info)}
            if nums.get("Width", 0) > 1 and nums.get("Absolute upper-left X", -1) >= 0:
                return nums["Absolute upper-left X"], nums["Absolute upper-left Y"], nums["Width"], nums["Height"]
    return None


def choose(geometry, downs):
    """Opens the tray menu and activates the `downs`-th enabled item."""
    x, y, w, h = geometry
    subprocess.run(["xdotool", "mousemove", str(x + w // 2), str(y + h // 2), "click", "1"], check=True)
    time.sleep(0.8)
    for _ in range(downs):
        subprocess.run(["xdotool", "key", "Down"], check=True)
        time.sleep(0.1)
    subprocess.run(["xdotool", "key", "Return"], check=True)


@pytest.fixture()
def tray_app(fake):
    work = tempfile.mkdtemp()
    port = free_port()
    config = os.path.join(work, "streampai.toml")
    with open(config, "w") as f:
        f.write(f'user_id = "tray"\n[control]\nlisten = "127.0.0.1:{port}"\n[cloudflare]\naccount_id = "{fake_account(fake)}"\n'
                f'api_base = "{fake.base}"\npoll_interval_ms = 500\n'
                '[[platforms]]\nname = "twitch-main"\nkind = "twitch"\n')
    env = dict(os.environ, STREAMPAI_CONFIG=config, STREAMPAI_DATA_DIR=os.path.join(work, "data"),
               STREAMPAI_CLOUDFLARE_API_TOKEN=fake_token(), STREAMPAI_STREAM_KEY_TWITCH_MAIN="tray-key",
               STREAMPAI_CONTROL_LISTEN=f"127.0.0.1:{port}", STREAMPAI_CONTROL_TOKEN=CONTROL_TOKEN,
               STREAMPAI_OBS_URL=f"ws://127.0.0.1:{free_port()}")  # never a local OBS
    trayer = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "32"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(0.5)
    log = open(os.path.join(work, "app.log"), "w")
    app = subprocess.Popen([str(APP), "--minimized"], env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    status = lambda: http("GET", f"http://127.0.0.1:{port}/api/v1/status", token=CONTROL_TOKEN)
    status.base = f"http://127.0.0.1:{port}"  # the control API, for other routes
    status.base = f"http://127.0.0.1:{port}"  # the control API, for other routes
    try:
        yield app, status
    finally:
        for p in (app, trayer):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(20)
        print(open(os.path.join(work, "app.log")).read()[-3000:])
        shutil.rmtree(work, ignore_errors=True)


def fake_account(fake):
    from conftest import ACCOUNT
    return ACCOUNT


def fake_token():
    from conftest import TOKEN
    return TOKEN


def test_tray_start_stop_and_quit_for_real(tray_app):
    app, status = tray_app
    wait_for("control API", lambda: status()["user_id"] == "tray")
    geometry = wait_for("tray icon embedded in trayer", tray_icon_geometry)
    choose(geometry, 1)  # Start stream (the status line is disabled, so the first enabled item)
    wait_for("live from the tray", lambda: status()["stream"]["state"] == "live", show=lambda: status()["stream"])
    # Enabled items now: Stop (Start is disabled), twitch-main, Pause alerts, Skip current alert,
    # Send test alert, Open dashboard, Quit. Alerts while live: the stream holds the tree (the
    # app has no window), so the queue runs.
    alerts = lambda: http("GET", f"{status.base}/api/v1/alerts", token=CONTROL_TOKEN)
    choose(geometry, 3)  # Pause alerts
    wait_for("alerts paused from the tray", lambda: alerts()["paused"], show=alerts)
    choose(geometry, 5)  # Send test alert: waits in the queue while paused
    wait_for("test alert queued", lambda: [a["from"] for a in alerts()["queued"]] == ["Test viewer"], show=alerts)
    choose(geometry, 3)  # the same item now reads "Resume alerts"
    wait_for("alert on screen after resuming", lambda: not alerts()["paused"] and alerts()["current"], show=alerts)
    choose(geometry, 4)  # Skip current alert
    wait_for("skipped", lambda: alerts()["current"] is None and not alerts()["queued"], show=alerts)
    choose(geometry, 1)  # Stop stream
    wait_for("offline again", lambda: status()["stream"]["state"] == "offline", show=lambda: status()["stream"])
    # Idle in the tray until the grace has stopped the tree, then Quit.
    wait_for("tree stopped after the grace", lambda: status()["manager"] == "stopped", timeout=30)
    choose(geometry, 7)  # Quit: offline, so no question
    wait_for("the app exited", lambda: app.poll() is not None, timeout=30)
