"""OBS, connected, in real windows against a REAL headless OBS Studio: a fresh profile goes
through the first run (this computer as the ingest, two platforms that are nginx-rtmp
applications), Connect OBS finds OBS and asks for its password (a wrong one is refused, the right
one connects), "Set up OBS for me" points OBS at the app, Start on the dashboard makes OBS stream
and both nginx-rtmp applications record OBS's frames (counted with ffprobe), Stop stops OBS too,
and Restore puts the streamer's own OBS settings back. Settings › OBS never shows the password.
OBS runs on its own Xvfb display with a throwaway HOME (../shared/PLATFORM-NOTES.md, "Real OBS
Studio, headless"). Its own app session (a separate pytest invocation, like test_relay.py)."""
import json
import os
import shutil
import signal
import subprocess
import uuid

import pytest
from selenium.webdriver.support.ui import Select

from conftest import RTMP_MODULE, click, el, free_port, listening, nginx_rtmp, screenshot, shown, text, typed, wait_for

NEEDS = ["obs", "xvfb-run", "nginx", "ffprobe"]
pytestmark = pytest.mark.skipif(
    (not all(shutil.which(b) for b in NEEDS) or not os.path.exists(RTMP_MODULE)) and not os.environ.get("CI"),
    reason="needs OBS Studio, xvfb-run, nginx + libnginx-mod-rtmp and ffprobe",
)
PLATFORMS = ("obs-a", "obs-b")
CONTROL_TOKEN = "obs-e2e"
# The streamer's own OBS setup before the app: straight to Twitch (the key must never show).
PREVIOUS_KEY = "live_123456789_streamersOwnTwitchKey"


@pytest.fixture(scope="session")
def nginx(work):
    """One nginx-rtmp with an application per platform, each recording what it receives."""
    root = work / "nginx"
    rec = root / "rec"
    apps = "\n".join(
        f"application {name} {{ live on; record all; record_unique on; record_path {rec}; "
        f"record_suffix .{name}.flv; }}"
        for name in PLATFORMS
    )
    rec.mkdir(parents=True)
    with nginx_rtmp(root, apps) as port:
        yield {"port": port, "rec": rec, "log": root / "logs" / "error.log"}


class Obs:
    """A headless OBS Studio: a throwaway HOME whose global.ini turns the WebSocket server on
    (random port, a password), its own Xvfb (xvfb-run -a), software GL, its own process group."""

    def __init__(self, home):
        self.home = home
        self.port = free_port()
        self.password = f"obs-pw-{uuid.uuid4().hex[:12]}"
        conf = home / ".config" / "obs-studio"
        profile = conf / "basic" / "profiles" / "Untitled"
        profile.mkdir(parents=True)
        (conf / "global.ini").write_text(
            "[General]\nFirstRun=true\n\n[Basic]\nProfile=Untitled\nProfileDir=Untitled\n\n"
            f"[OBSWebSocket]\nFirstLoad=false\nServerEnabled=true\nServerPort={self.port}\n"
            f"AuthRequired=true\nServerPassword={self.password}\n"
        )
        (profile / "service.json").write_text(json.dumps(
            {"type": "rtmp_common", "settings": {"service": "Twitch", "server": "auto", "key": PREVIOUS_KEY}}))
        self.log = home / "obs.log"
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "XAUTHORITY", "WAYLAND_DISPLAY")}
        env.update({"HOME": str(home), "LIBGL_ALWAYS_SOFTWARE": "1", "XDG_CONFIG_HOME": str(home / ".config")})
        self.proc = subprocess.Popen(
            ["xvfb-run", "-a", "-s", "-screen 0 1280x720x24", "obs", "--disable-shutdown-check", "--multi",
             "--websocket_port", str(self.port), "--websocket_password", self.password],
            cwd=home, env=env, stdin=subprocess.DEVNULL, stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for("OBS's WebSocket port", listening(self.port), timeout=60, show=lambda: self.log.read_text()[-2000:])

    def stop(self):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(15)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # xvfb-run's Xvfb shares the group
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def obs(work):
    home = work / "obs-home"
    home.mkdir()
    o = Obs(home)
    yield o
    o.stop()


@pytest.fixture(scope="session")
def ingest_port():
    return free_port()


@pytest.fixture(scope="session")
def app_env(work, obs, ingest_port, control_port):
    """Overrides conftest's: a fresh profile (no config file: the first run shows), the local
    ingest on a random port, OBS's address; no Cloudflare anywhere."""
    for k in ("STREAMPAI_CONFIG", "STREAMPAI_CLOUDFLARE_API_BASE", "STREAMPAI_OBS_PASSWORD"):
        os.environ.pop(k, None)
    os.environ.update({
        "STREAMPAI_DATA_DIR": str(work / "data"),
        "STREAMPAI_LOCAL_LISTEN": f"127.0.0.1:{ingest_port}",
        "STREAMPAI_CONTROL_LISTEN": f"127.0.0.1:{control_port}",
        "STREAMPAI_CONTROL_TOKEN": CONTROL_TOKEN,
        "STREAMPAI_OBS_URL": f"ws://127.0.0.1:{obs.port}",
        "STREAMPAI_SAMPLE_INTERVAL_MS": "1000",  # the live chart fills within seconds
        "RUST_LOG": os.environ.get("RUST_LOG", "info"),
    })
    return os.environ


def api(control_port, path):
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{control_port}{path}")
    req.add_header("authorization", f"Bearer {CONTROL_TOKEN}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def video_frames(path):
    """Video frames in a recording, counted by ffprobe (decodes nothing it need not)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
         "stream=nb_read_packets", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    try:
        return int(json.loads(out.stdout)["streams"][0]["nb_read_packets"])
    except (ValueError, KeyError, IndexError):
        return 0


def step_class(driver, n):
    return el(driver, f"setup-step-{n}").get_attribute("class")


def test_first_run_connects_obs_and_sets_it_up(driver, nginx, obs, ingest_port, control_port):
    wait_for("setup page", lambda: shown(driver, "setup"))
    # 1. Where OBS sends: this computer (the default, no account).
    assert el(driver, "setup-backend-local").is_selected()
    screenshot(driver, "obs-1-where")
    click(driver, "setup-next")
    # 2. Two platforms: nginx-rtmp applications (custom RTMP), keys to the keyring.
    wait_for("platform step", lambda: shown(driver, "pf-kind"))
    for name in PLATFORMS:
        Select(el(driver, "pf-kind")).select_by_value("custom")
        typed(driver, "pf-name", name)
        typed(driver, "pf-url", f"rtmp://127.0.0.1:{nginx['port']}/{name}")
        typed(driver, "pf-key", f"key-{name}")
        click(driver, "pf-save")
        wait_for(f"{name} added", lambda n=name: n in text(driver, "setup-added"), show=lambda: text(driver, "setup-added"))
    screenshot(driver, "obs-2-platforms")
    click(driver, "setup-next")
    # 3. Connect OBS: found at its address; it asks for its password.
    wait_for("OBS asks for its password", lambda: el(driver, "obs-connect-status").get_attribute("data-kind") == "password",
             timeout=30, show=lambda: text(driver, "obs-connect-status"))
    assert f"127.0.0.1:{obs.port}" in text(driver, "obs-connect-status")
    assert [step_class(driver, n) for n in range(3)] == ["done", "done", "active"]
    typed(driver, "obs-connect-password", "not-the-password")
    click(driver, "obs-connect-btn")
    wait_for("a wrong password refused", lambda: "refused this password" in text(driver, "obs-connect-status"),
             timeout=20, show=lambda: text(driver, "obs-connect-status"))
    screenshot(driver, "obs-3-password")
    typed(driver, "obs-connect-password", obs.password)
    click(driver, "obs-connect-btn")
    wait_for("OBS found", lambda: el(driver, "obs-connect-status").get_attribute("data-kind") == "connected",
             timeout=20, show=lambda: text(driver, "obs-connect-status"))
    assert "Found OBS 2" in text(driver, "obs-connect-status"), text(driver, "obs-connect-status")
    assert obs.password not in driver.page_source, "the password is not kept in the page"
    screenshot(driver, "obs-4-found")
    click(driver, "obs-connect-setup")
    wait_for("OBS set up", lambda: shown(driver, "obs-connect-done"), timeout=30,
             show=lambda: (text(driver, "obs-connect-result"), text(driver, "obs-connect")))
    done = text(driver, "obs-connect-done")
    assert f"rtmp://127.0.0.1:{ingest_port}/live" in done and "Twitch" in done, done
    assert PREVIOUS_KEY not in driver.page_source
    assert step_class(driver, 2) == "done" and "✓" in text(driver, "setup-step-2"), text(driver, "setup-steps")
    screenshot(driver, "obs-5-set-up")
    click(driver, "setup-finish")
    wait_for("dashboard", lambda: shown(driver, "obs-card"))


def test_the_dashboard_shows_obs_set_up_with_the_kept_settings(driver, obs):
    wait_for("connected to OBS", lambda: text(driver, "obs-link").startswith("Connected to OBS 2"),
             timeout=20, show=lambda: text(driver, "obs-card"))
    wait_for("OBS is set up", lambda: shown(driver, "obs-set-up"), show=lambda: text(driver, "obs-card"))
    assert not shown(driver, "obs-setup-btn")
    assert text(driver, "obs-streaming") == "OBS is not streaming"
    assert text(driver, "obs-previous-words") == "Twitch, with its stream key", text(driver, "obs-previous")
    assert PREVIOUS_KEY not in driver.page_source
    screenshot(driver, "obs-6-dashboard")


def test_start_makes_obs_stream_to_both_platforms_and_stop_stops_obs(driver, nginx, control_port):
    click(driver, "start-btn")
    wait_for("OBS streaming", lambda: text(driver, "obs-streaming") == "OBS is streaming", timeout=30,
             show=lambda: text(driver, "obs-card"))
    for name in PLATFORMS:
        wait_for(f"{name} live", lambda n=name: text(driver, f"platform-status-{n}") == "live", timeout=40,
                 show=lambda n=name: text(driver, f"platform-card-{n}"))
    # OBS's own figures: frames sent, with the skipped ones, and its health.
    wait_for("OBS's frame counts", lambda: shown(driver, "obs-frames") and "of 0 frames" not in text(driver, "obs-frames"),
             timeout=30, show=lambda: text(driver, "obs-card"))
    assert text(driver, "obs-health").split(" ")[0] in ("Good", "Congested"), text(driver, "obs-health")
    # Both platforms record OBS's frames: at least 3 s of its 30 fps each.
    recs = lambda n: sorted(nginx["rec"].glob(f"*.{n}.flv"))
    for name in PLATFORMS:
        wait_for(f"{name} records OBS's frames", lambda n=name: recs(n) and video_frames(recs(n)[-1]) >= 90, timeout=60,
                 every=1.0, show=lambda n=name: ([str(p) for p in recs(n)], nginx["log"].read_text()[-1500:]))
    # The live chart draws the relay's samples (one a second here), for a screenshot worth having.
    chart = lambda: el(driver, "live-chart")
    wait_for("live chart with lines", lambda: chart().get_attribute("data-measured") == "true"
             and int(chart().get_attribute("data-points") or 0) >= 3, timeout=20,
             show=lambda: chart().get_attribute("data-points"))
    o = api(control_port, "/api/v1/obs")
    assert o["streaming"] is True and o["total_frames"] and o["total_frames"] > 0, o
    screenshot(driver, "obs-7-live")
    click(driver, "stop-btn")
    wait_for("offline", lambda: text(driver, "stream-state") == "offline", timeout=30,
             show=lambda: text(driver, "stream-state"))
    # OBS stopped too: OBS's own stream-state events say so (the dashboard and the control API).
    wait_for("OBS stopped", lambda: text(driver, "obs-streaming") == "OBS is not streaming", timeout=30,
             show=lambda: text(driver, "obs-card"))
    wait_for("OBS stopped (API)", lambda: api(control_port, "/api/v1/obs")["streaming"] is False, timeout=10)
    counts = {n: video_frames(recs(n)[-1]) for n in PLATFORMS}
    assert all(c >= 90 for c in counts.values()), counts
    print(f"frames recorded per platform: {counts}; OBS reported {o['total_frames']} at its last poll while live")
    screenshot(driver, "obs-8-stopped")


def test_restore_puts_the_streamers_own_settings_back(driver):
    click(driver, "obs-restore-btn")
    wait_for("restored", lambda: "previous settings are back" in text(driver, "obs-result"), timeout=20,
             show=lambda: text(driver, "obs-card"))
    assert "Twitch" in text(driver, "obs-result")
    # OBS streams to Twitch again: the app offers to set it up again and keeps nothing.
    wait_for("offered again", lambda: shown(driver, "obs-setup-btn"), timeout=20, show=lambda: text(driver, "obs-card"))
    assert not shown(driver, "obs-previous")
    assert PREVIOUS_KEY not in driver.page_source


def test_settings_show_the_obs_section_without_the_password(driver, obs):
    driver.execute_script("location.hash = '#/settings'")
    wait_for("OBS section", lambda: shown(driver, "obs-section"))
    wait_for("password stored", lambda: "A password is stored" in text(driver, "obs-password-state"),
             show=lambda: text(driver, "obs-password-state"))
    assert el(driver, "obs-url").get_attribute("value") == f"ws://127.0.0.1:{obs.port}"
    assert el(driver, "obs-settings-password").get_attribute("value") == ""
    assert obs.password not in driver.page_source
    wait_for("connected", lambda: text(driver, "obs-settings-state").startswith("Connected to OBS"),
             show=lambda: text(driver, "obs-settings-state"))
    # The engine's rule for the address, live while typing.
    typed(driver, "obs-url", "http://127.0.0.1:4455")
    wait_for("url checked", lambda: "ws://" in text(driver, "obs-error-url"), show=lambda: text(driver, "obs-error-url"))
    typed(driver, "obs-url", f"ws://127.0.0.1:{obs.port}")
    wait_for("url fine", lambda: text(driver, "obs-error-url") == "")
    # Saved (applied live: the link reconnects), the password still not shown.
    click(driver, "obs-save")
    wait_for("saved", lambda: text(driver, "obs-settings-result") == "Saved.", show=lambda: text(driver, "obs-settings-result"))
    wait_for("connected again", lambda: text(driver, "obs-settings-state").startswith("Connected to OBS"), timeout=20,
             show=lambda: text(driver, "obs-settings-state"))
    assert el(driver, "obs-settings-password").get_attribute("value") == ""
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", el(driver, "obs-section"))
    screenshot(driver, "settings-obs")
