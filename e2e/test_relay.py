"""The local relay in real windows: ffmpeg publishes to the app's own RTMP ingest, two nginx-rtmp
applications stand in for the platforms, and the dashboard shows what the relay measures
(bitrate, bytes sent, dropped frames, reconnects, the total against the upload budget), the live
chart fills with samples, and Analytics keeps the stream with its bitrate lines.
Its own app session (run as a separate pytest invocation, like test_tray.py)."""
import os
import shutil
import signal
import subprocess
import time

import pytest
from selenium.webdriver.common.by import By

from conftest import RTMP_MODULE, el, free_port, nginx_rtmp, screenshot, text, wait_for

NEEDS = ["ffmpeg", "nginx"]
pytestmark = pytest.mark.skipif(
    not all(shutil.which(b) for b in NEEDS) or not os.path.exists(RTMP_MODULE),
    reason="needs ffmpeg, nginx and libnginx-mod-rtmp",
)
INGEST_KEY = "e2e-ingest-key"
PLATFORMS = ("relay-a", "relay-b")


@pytest.fixture(scope="session")
def nginx(work):
    """One nginx-rtmp (single process) with an application per platform; records nothing."""
    apps = "\n".join(f"application {name} {{ live on; }}" for name in PLATFORMS)
    with nginx_rtmp(work / "nginx", apps) as port:
        yield port


@pytest.fixture(scope="session")
def media(work):
    """10 s of 640x360 H.264 + AAC at about 1.5 Mbit/s, encoded once."""
    out = work / "src.flv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000", "-t", "10",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-b:v", "1500k",
         "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k",
         "-ar", "48000", "-ac", "2", "-y", str(out)],
        check=True, timeout=120,
    )
    return out


@pytest.fixture(scope="session")
def ingest_port():
    return free_port()


@pytest.fixture(scope="session")
def app_env(work, nginx, ingest_port):
    """Overrides conftest's: a seeded config with the local ingest and two RTMP platforms, a
    1,000 kbit/s upload budget (two outputs of ~1.6 Mbit/s pass it) and a sample every second."""
    config = work / "streampai.toml"
    platforms = "".join(
        f'[[platforms]]\nname = "{name}"\nkind = "custom"\nurl = "rtmp://127.0.0.1:{nginx}/{name}"\n'
        for name in PLATFORMS
    )
    control_port = free_port()
    config.write_text(
        f'user_id = "relay"\ningest = "local"\n[control]\nlisten = "127.0.0.1:{control_port}"\n'
        f'[local]\nlisten = "127.0.0.1:{ingest_port}"\nupload_budget_kbps = 1000\n'
        '[history]\nsample_interval_ms = 1000\n' + platforms
    )
    os.environ.update({
        "STREAMPAI_CONFIG": str(config),
        "STREAMPAI_DATA_DIR": str(work / "data"),
        "STREAMPAI_INGEST_KEY": INGEST_KEY,
        "STREAMPAI_CONTROL_TOKEN": "relay-e2e",
        "STREAMPAI_OBS_URL": f"ws://127.0.0.1:{free_port()}",  # never a local OBS (ffmpeg is OBS here)
        **{f"STREAMPAI_STREAM_KEY_{n.upper().replace('-', '_')}": f"key-{n}" for n in PLATFORMS},
        "RUST_LOG": os.environ.get("RUST_LOG", "info"),
    })
    return os.environ


@pytest.fixture()
def obs(media, ingest_port):
    """ffmpeg as OBS: the file in a loop, in real time, to the app's ingest."""
    proc = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-re", "-stream_loop", "-1", "-i", str(media), "-c", "copy", "-f", "flv",
         f"rtmp://127.0.0.1:{ingest_port}/live/{INGEST_KEY}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def measured(value):
    """A bitrate the relay measured, e.g. '1.6 Mbit/s' (not '—' and not zero)."""
    return value.endswith("bit/s") and not value.startswith("0 ")


def chart_has_lines(driver, testid):
    """A uPlot canvas drawn from at least two measured samples."""
    chart = el(driver, testid)
    return (chart.find_elements(By.CSS_SELECTOR, "canvas")
            and chart.get_attribute("data-measured") == "true"
            and int(chart.get_attribute("data-points") or 0) >= 2)


def test_the_dashboard_shows_what_the_relay_measures(driver, obs):
    wait_for("dashboard", lambda: el(driver, "obs-state").is_displayed())
    wait_for("receiving from ffmpeg", lambda: "Receiving from OBS" in text(driver, "obs-state"),
             timeout=30, show=lambda: text(driver, "obs-state"))
    el(driver, "start-btn").click()
    for name in PLATFORMS:
        wait_for(f"{name} live", lambda n=name: text(driver, f"platform-status-{n}") == "live",
                 timeout=30, show=lambda n=name: text(driver, f"platform-status-{n}"))
        wait_for(f"{name} bitrate", lambda n=name: measured(text(driver, f"platform-bitrate-{n}")),
                 show=lambda n=name: text(driver, f"platform-card-{n}"))
        assert text(driver, f"platform-sent-{name}").endswith("B"), text(driver, f"platform-card-{name}")
        assert text(driver, f"platform-dropped-{name}").isdigit()
        assert text(driver, f"platform-reconnects-{name}").isdigit()
    wait_for("total outgoing bitrate", lambda: measured(text(driver, "upload-total")), show=lambda: text(driver, "upload"))
    wait_for("over the budget", lambda: "Over your upload budget" in text(driver, "upload-warning"),
             show=lambda: text(driver, "upload"))
    # The live chart fills with the relay's samples (one a second here): lines, not the note.
    wait_for("live chart with bitrate lines", lambda: chart_has_lines(driver, "live-chart"), timeout=30,
             show=lambda: (el(driver, "live-chart").get_attribute("data-points"), text(driver, "live-chart-note")))
    time.sleep(4)  # a few more samples, for a chart worth a screenshot (nothing is timed)
    screenshot(driver, "dashboard-relay")
    el(driver, "stop-btn").click()
    wait_for("offline", lambda: text(driver, "stream-state") == "offline", timeout=30,
             show=lambda: text(driver, "stream-state"))


def test_analytics_keeps_the_relayed_stream_with_its_bitrate(driver):
    driver.execute_script("location.hash = '#/analytics'")
    rows = lambda: driver.find_elements(By.CSS_SELECTOR, '[data-testid^="stream-row-"]')
    wait_for("the stream's row", lambda: len(rows()) == 1)
    row = rows()[0]
    assert row.get_attribute("data-ended-by") == "stopped"
    assert "Local relay" in row.text and all(n in row.text for n in PLATFORMS), row.text
    wait_for("chart with bitrate lines", lambda: chart_has_lines(driver, "analytics-chart"),
             show=lambda: (el(driver, "analytics-chart").get_attribute("data-points"), text(driver, "analytics-chart-note")))
    screenshot(driver, "analytics-relay")
