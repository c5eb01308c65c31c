"""End-to-end: the real app in real windows (WebKitWebDriver via tauri-driver). A fresh profile
starts local-first (the local relay, no account), then switches to the fake Cloudflare in Settings.
Tests run in order and share one app session."""
import json
import subprocess

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import ACCOUNT, APP, TOKEN, TARGET, clipboard, control, el, goto, http, screenshot, text, typed, wait_for
from phone import Phone

# What one test leaves for a later one (the tests share one app session, in order).
SEEN = {}


def click(driver, testid):
    wait_for(f"{testid} clickable", lambda: el(driver, testid).is_enabled())
    el(driver, testid).click()


def add_platform(driver, kind, name, key):
    Select(el(driver, "pf-kind")).select_by_value(kind)
    typed(driver, "pf-name", name)
    typed(driver, "pf-key", key)
    click(driver, "pf-save")


MASK = "••••••••••••••••"


def local_server(port):
    return f"rtmp://127.0.0.1:{port}/live"


def the_ingest_key(control_port):
    """The stream key as the control API shows it (token-protected), to compare with the page."""
    return wait_for("the ingest key", lambda: control(control_port)["ingest"]["stream_key"])


def check_ingest_box(driver, control_port, server_ok, timeout):
    """The server shows within `timeout`, the key masked and absent from the page until Reveal,
    Reveal and Copy give the key, Copy gives the server. Returns the server shown."""
    wait_for("server", lambda: server_ok(el(driver, "ingest-url").get_attribute("value")), timeout=timeout,
             show=lambda: el(driver, "ingest-box").text)
    server = el(driver, "ingest-url").get_attribute("value")
    key = the_ingest_key(control_port)
    assert el(driver, "ingest-key").get_attribute("value") == MASK
    assert key not in driver.page_source, "the key reaches the page only on reveal"
    click(driver, "reveal-key")
    wait_for("revealed", lambda: el(driver, "ingest-key").get_attribute("value") == key,
             show=lambda: el(driver, "ingest-key").get_attribute("value"))
    click(driver, "reveal-key")
    wait_for("masked again", lambda: el(driver, "ingest-key").get_attribute("value") == MASK)
    click(driver, "copy-key")
    wait_for("key copied", lambda: clipboard() == key, show=clipboard)
    assert "Stream key copied" in text(driver, "copy-note")
    click(driver, "copy-server")
    wait_for("server copied", lambda: clipboard() == server, show=clipboard)
    return server


def step_class(driver, n):
    return el(driver, f"setup-step-{n}").get_attribute("class")


def test_first_run_in_local_mode_with_two_platforms(driver, control_port, local_port):
    wait_for("setup page", lambda: el(driver, "setup").is_displayed())
    # Local-first: "This computer" is chosen; Cloudflare's credentials only when asked for.
    assert el(driver, "setup-backend-local").is_selected()
    assert not el(driver, "setup-cloudflare").is_displayed()
    el(driver, "setup-backend-cloudflare").click()
    wait_for("Cloudflare's credentials", lambda: el(driver, "cf-account").is_displayed())
    click(driver, "setup-next")
    wait_for("credentials first", lambda: "Cloudflare account ID" in text(driver, "setup-error"),
             show=lambda: text(driver, "setup-error"))
    # A skipped step never looks done.
    click(driver, "setup-skip")
    wait_for("platform step", lambda: el(driver, "pf-kind").is_displayed())
    assert step_class(driver, 0) == "skipped" and "✓" not in text(driver, "setup-step-0"), text(driver, "setup-steps")
    click(driver, "setup-back")
    wait_for("first step again", lambda: el(driver, "setup-backend-local").is_displayed())
    el(driver, "setup-backend-local").click()
    wait_for("no credentials asked", lambda: not el(driver, "setup-cloudflare").is_displayed())
    screenshot(driver, "first-run")
    click(driver, "setup-next")
    wait_for("platform step", lambda: el(driver, "pf-kind").is_displayed())
    assert step_class(driver, 0) == "done" and "✓" in text(driver, "setup-step-0")
    assert control(control_port)["ingest"]["backend"] == "local"
    # Validation shows in words before anything is saved.
    Select(el(driver, "pf-kind")).select_by_value("custom")
    typed(driver, "pf-url", "http://not-rtmp.example.com/app")
    click(driver, "pf-save")
    wait_for("url error", lambda: "rtmp://" in text(driver, "pf-error-url"), show=lambda: text(driver, "pf-error-url"))
    wait_for("key error", lambda: "empty" in text(driver, "pf-error-key"), show=lambda: text(driver, "pf-error-key"))
    el(driver, "pf-url").clear()
    # The engine's rules, live while typing (check_field), worded for display.
    typed(driver, "pf-name", "Twitch Main")
    wait_for("live name check", lambda: "may only use a-z" in text(driver, "pf-error-name"), show=lambda: text(driver, "pf-error-name"))
    assert text(driver, "pf-error-name").startswith("“Twitch Main”"), text(driver, "pf-error-name")
    add_platform(driver, "twitch", "twitch-main", "live_twitch_key_123")
    wait_for("twitch added", lambda: "twitch-main" in text(driver, "setup-added"), show=lambda: text(driver, "setup-added"))
    add_platform(driver, "youtube", "youtube-main", "yt-key-456")
    wait_for("youtube added", lambda: "youtube-main" in text(driver, "setup-added"), show=lambda: text(driver, "setup-added"))
    add_platform(driver, "kick", "twitch-main", "x")
    wait_for("duplicate refused", lambda: "already exists" in text(driver, "pf-error-name"), show=lambda: text(driver, "pf-error-name"))
    click(driver, "setup-next")
    # The last step: what to paste into OBS, for the local relay, at once.
    check_ingest_box(driver, control_port, lambda v: v == local_server(local_port), timeout=2)
    assert [step_class(driver, n) for n in range(3)] == ["done", "done", "active"]
    screenshot(driver, "first-run-obs")
    click(driver, "setup-finish")
    wait_for("dashboard", lambda: el(driver, "obs-state").is_displayed())


def test_stream_setup_in_local_mode(driver, control_port, local_port):
    goto(driver, "stream")
    check_ingest_box(driver, control_port, lambda v: v == local_server(local_port), timeout=2)
    assert "this computer" in text(driver, "ingest-backend-words")
    screenshot(driver, "stream-setup-local")


def test_cloudflare_from_settings_and_stream_setup_follows(driver, control_port, fake):
    goto(driver, "settings")
    typed(driver, "cf-account", ACCOUNT)
    typed(driver, "cf-token", TOKEN)
    click(driver, "cf-test")
    wait_for("connection ok", lambda: "Connected" in text(driver, "cf-result"), show=lambda: text(driver, "cf-result"))
    click(driver, "cf-save")
    wait_for("saved", lambda: "Saved" in text(driver, "cf-result"), show=lambda: text(driver, "cf-result"))
    # "This computer", chosen in the first run, sticks: saving credentials does not switch, and says so.
    assert "still sends to this computer" in text(driver, "cf-result"), text(driver, "cf-result")
    assert el(driver, "cf-use-now").is_displayed()
    assert control(control_port)["ingest"]["backend"] == "local"
    wait_for("backend unlocked", lambda: el(driver, "ingest-backend").is_enabled())
    assert Select(el(driver, "ingest-backend")).first_selected_option.get_attribute("value") == "local"
    Select(el(driver, "ingest-backend")).select_by_value("cloudflare")
    click(driver, "streaming-save")
    wait_for("streaming saved", lambda: text(driver, "streaming-result") == "Saved.", show=lambda: text(driver, "streaming-result"))
    assert control(control_port)["ingest"]["backend"] == "cloudflare"
    goto(driver, "stream")
    check_ingest_box(driver, control_port, lambda v: v.startswith("rtmps://"), timeout=20)
    assert "Cloudflare" in text(driver, "ingest-backend-words")
    screenshot(driver, "stream-setup")


def test_stream_keys_live_in_the_real_keyring(driver):
    out = subprocess.run(
        ["secret-tool", "lookup", "service", "streampai", "username", "stream-key:twitch-main"],
        capture_output=True, text=True, check=False,
    )
    assert out.stdout.strip() == "live_twitch_key_123", out.stderr


def test_obs_traffic_flips_the_dashboard(driver, fake):
    goto(driver, "dashboard")
    wait_for("waiting for OBS", lambda: "Waiting for OBS" in text(driver, "obs-state"), show=lambda: text(driver, "obs-state"))
    screenshot(driver, "dashboard-waiting")
    uid = wait_for("live input", fake.input_uid)
    fake.connect(uid, True)
    wait_for("receiving", lambda: "Receiving from OBS" in text(driver, "obs-state"), timeout=10, show=lambda: text(driver, "obs-state"))


def test_start_makes_both_platforms_live_and_stop_removes_outputs(driver, fake):
    uid = fake.input_uid()
    click(driver, "start-btn")
    for name in ("twitch-main", "youtube-main"):
        wait_for(f"{name} live", lambda n=name: text(driver, f"platform-status-{n}") == "live")
    assert len(fake.outputs(uid)) == 2
    wait_for("elapsed", lambda: text(driver, "elapsed").startswith("00:00:"), show=lambda: text(driver, "elapsed"))
    # Cloudflare outputs report no bitrate: the dashboard says who relays instead of a number.
    wait_for("upload line", lambda: text(driver, "upload-total") == "relayed by Cloudflare", show=lambda: text(driver, "upload"))
    SEEN["uuid"] = text(driver, "stream-uuid")
    assert len(SEEN["uuid"]) == 36
    wait_for("live chart", lambda: driver.find_elements(By.CSS_SELECTOR, '[data-testid="live-chart-plot"] canvas'))
    screenshot(driver, "dashboard-live")
    # While on air the ingest backend cannot be switched, and Settings says why.
    goto(driver, "settings")
    wait_for("backend locked", lambda: not el(driver, "ingest-backend").is_enabled())
    assert "stop it to switch" in text(driver, "ingest-locked")
    goto(driver, "dashboard")
    click(driver, "stop-btn")
    wait_for("offline", lambda: text(driver, "stream-state") == "offline", show=lambda: text(driver, "stream-state"))
    wait_for("outputs gone", lambda: len(fake.outputs(uid)) == 0)
    assert text(driver, "platform-status-twitch-main") == "ready"


def canvases(driver, testid):
    return driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"] canvas')


def test_analytics_lists_the_stopped_stream_with_its_chart(driver, control_port):
    uuid = SEEN["uuid"]
    goto(driver, "analytics")
    row = f"stream-row-{uuid}"
    wait_for("the stream's row", lambda: el(driver, row).is_displayed())
    assert el(driver, row).get_attribute("data-ended-by") == "stopped"
    assert text(driver, f"stream-ended-{uuid}") == "Stopped"
    assert "twitch-main" in text(driver, row) and "youtube-main" in text(driver, row), text(driver, row)
    rows = driver.find_elements(By.CSS_SELECTOR, '[data-testid^="stream-row-"]')
    assert rows[0].get_attribute("data-testid") == row, "newest first"
    wait_for("chart canvas", lambda: canvases(driver, "analytics-chart-plot"))
    wait_for("detail of this stream", lambda: text(driver, "analytics-detail-ended") == "Stopped")
    events = lambda: text(driver, "analytics-chart-events")
    wait_for("platform events listed", lambda: "twitch-main: live" in events() and "youtube-main: live" in events(), show=events)
    screenshot(driver, "analytics")
    # "Open in new window" works for Analytics too: a second window on the same page.
    first = driver.current_window_handle
    click(driver, "open-new-window")
    wait_for("analytics window", lambda: len(driver.window_handles) == 2)
    other = [h for h in driver.window_handles if h != first][0]
    driver.switch_to.window(other)
    wait_for("opens on Analytics", lambda: "active" in el(driver, "nav-analytics").get_attribute("class"))
    wait_for("lists the stream", lambda: el(driver, row).is_displayed())
    wait_for("draws the chart", lambda: canvases(driver, "analytics-chart-plot"))
    close_window(driver, other)
    wait_for("one window again", lambda: len(windows_in(control_port)) == 1, show=lambda: windows_in(control_port))
    driver.switch_to.window(first)


def test_a_refused_token_is_worded_on_the_platform_card(driver, fake):
    """Typed failures in words: Cloudflare refuses one output's creation (401), the card says who
    refused what (no text parsing), the underlying error stays as secondary text."""
    goto(driver, "dashboard")
    http("POST", f"{fake.root}/__fake/faults", {"kind": "unauthorized", "route": "create_output", "count": 1})
    click(driver, "start-btn")
    problems = lambda: [
        (el(driver, f"platform-problem-{n}").text, n)
        for n in ("twitch-main", "youtube-main")
        if driver.find_elements(By.CSS_SELECTOR, f'[data-testid="platform-problem-{n}"]')
    ]
    found = wait_for("a worded problem", lambda: [p for p in problems() if "Cloudflare refused the API token" in p[0]],
                     show=problems)
    name = found[0][1]
    assert text(driver, f"platform-problem-detail-{name}").strip(), "the detail is shown as secondary text"
    assert text(driver, f"platform-status-{name}") == "failed"
    screenshot(driver, "dashboard-problem")
    click(driver, "stop-btn")
    wait_for("offline", lambda: text(driver, "stream-state") == "offline", show=lambda: text(driver, "stream-state"))
    uid = fake.input_uid()
    wait_for("outputs gone", lambda: len(fake.outputs(uid)) == 0)
    http("DELETE", f"{fake.root}/__fake/faults")


def test_pages_platforms_alerts_debug(driver):
    goto(driver, "platforms")
    wait_for("rows", lambda: el(driver, "platform-row-youtube-main").is_displayed())
    screenshot(driver, "platforms")
    goto(driver, "alerts")
    Select(el(driver, "alert-kind")).select_by_value("donation")
    click(driver, "send-test-alert")
    wait_for("alert on screen", lambda: "Test viewer" in text(driver, "alert-current"), show=lambda: text(driver, "alert-current"))
    screenshot(driver, "alerts")
    click(driver, "alerts-clear")
    goto(driver, "debug")
    wait_for("tree", lambda: "PlatformSupervisor" in text(driver, "debug-tree"), show=lambda: text(driver, "debug-tree"))
    screenshot(driver, "debug")


def test_bad_token_in_settings_shows_the_exact_error(driver):
    goto(driver, "settings")
    typed(driver, "cf-token", "definitely-not-the-token")
    click(driver, "cf-test")
    wait_for("bad token", lambda: text(driver, "cf-result").startswith("Bad token"), show=lambda: text(driver, "cf-result"))
    # Where secrets live (this session has an unlocked gnome-keyring).
    wait_for("secrets line", lambda: text(driver, "secrets-backend") == "Secrets are kept in the system keyring.",
             show=lambda: text(driver, "secrets-backend"))
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", el(driver, "cloudflare-section"))
    screenshot(driver, "settings")
    el(driver, "cf-token").clear()


def test_a_second_launch_exits_and_the_first_keeps_running(driver, control_port):
    before = control(control_port)
    second = subprocess.run([str(APP)], capture_output=True, text=True, timeout=30)
    assert second.returncode == 0, second.stderr[-2000:]
    after = control(control_port)
    assert after["user_id"] == before["user_id"] and after["manager"] == "running"
    assert len([p for p in after["presence"] if p["kind"] == "window"]) == 1, "no second window, no second app"


def test_streaming_settings_check_the_listen_address_and_warn_about_the_lan(driver, control_port):
    goto(driver, "settings")
    wait_for("backend unlocked", lambda: el(driver, "ingest-backend").is_enabled())
    Select(el(driver, "ingest-backend")).select_by_value("local")
    wait_for("local fields", lambda: el(driver, "local-listen").is_displayed())
    typed(driver, "local-listen", "0.0.0.0:1935")
    wait_for("LAN warning", lambda: "LAN" in text(driver, "listen-warning"), show=lambda: text(driver, "listen-warning"))
    typed(driver, "local-listen", "127.0.0.1:1935")
    wait_for("no warning for loopback", lambda: not el(driver, "listen-warning").is_displayed())
    typed(driver, "local-listen", "localhost")
    typed(driver, "upload-budget", "0")
    click(driver, "streaming-save")
    wait_for("listen error", lambda: "not an address" in text(driver, "streaming-error-local_listen"))
    assert "more than 0" in text(driver, "streaming-error-upload_budget_kbps")
    # Nothing was saved: the engine still uses Cloudflare.
    assert control(control_port)["ingest"]["backend"] == "cloudflare"
    typed(driver, "local-listen", "127.0.0.1:1935")
    el(driver, "upload-budget").clear()
    Select(el(driver, "ingest-backend")).select_by_value("cloudflare")


def stored_settings():
    return json.loads((TARGET / "e2e-run" / "data" / "desktop-settings.json").read_text())


def every_file_under(folder):
    return [p for p in folder.rglob("*") if p.is_file()]


def test_sync_settings_connect_and_a_phone_shows_up(driver, control_port, sync_server):
    goto(driver, "settings")
    wait_for("sync section", lambda: el(driver, "sync-section").is_displayed())
    assert text(driver, "sync-state") == "Off"
    assert "presence" in text(driver, "sync-explain") and "phone" in text(driver, "sync-explain")
    # Clear words before anything is saved.
    el(driver, "sync-enabled").click()
    typed(driver, "sync-url", sync_server.url.replace("ws://", "http://"))
    click(driver, "sync-save")
    wait_for("url error", lambda: "Use ws://" in text(driver, "sync-error-url"), show=lambda: text(driver, "sync-error-url"))
    assert not ((stored_settings().get("config") or {}).get("sync") or {}).get("url"), "nothing saved"

    typed(driver, "sync-url", sync_server.url)
    wait_for("phone remote address", lambda: text(driver, "sync-remote-url") == sync_server.url.replace("ws://", "http://") + "/")
    typed(driver, "sync-device-name", "E2E Studio")
    typed(driver, "sync-token", sync_server.token)
    assert el(driver, "sync-token").get_attribute("type") == "password"
    click(driver, "sync-save")
    wait_for("saved", lambda: text(driver, "sync-result") == "Saved.", show=lambda: text(driver, "sync-result"))
    wait_for("connected", lambda: text(driver, "sync-state") == f"Connected to {sync_server.url}/sync",
             timeout=20, show=lambda: text(driver, "sync-state"))
    assert el(driver, "sync-token").get_attribute("value") == "", "the field is emptied once stored"
    assert "keyring" in text(driver, "sync-token-state")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", el(driver, "sync-section"))
    screenshot(driver, "settings-sync")

    # The token lives in the real keyring, never in the settings store or the logs.
    out = subprocess.run(["secret-tool", "lookup", "service", "streampai", "username", "sync-token"],
                         capture_output=True, text=True, check=False)
    assert out.stdout.strip() == sync_server.token, out.stderr
    assert stored_settings()["config"]["sync"]["url"] == sync_server.url
    assert stored_settings()["config"]["sync"]["device_name"] == "E2E Studio"
    data = TARGET / "e2e-run" / "data"
    leaks = [str(p) for p in every_file_under(data) if sync_server.token.encode() in p.read_bytes()]
    assert leaks == [], f"the sync token leaked into {leaks}"

    # A phone signs in: the dashboard lists it, live.
    goto(driver, "dashboard")
    phone = Phone(sync_server.url + "/sync", sync_server.token, device_id="e2e-phone", device_name="E2E Phone")
    try:
        phone.wait(lambda f: f["type"] == "welcome")
        phone.wait(lambda f: f["type"] == "presence_state")
        wait_for("the phone on the dashboard", lambda: text(driver, "remote-device-name-e2e-phone") == "E2E Phone",
                 show=lambda: driver.find_element(By.CSS_SELECTOR, ".dashboard").text)
        assert "since" in text(driver, "remote-device-e2e-phone")
        presence = control(control_port)["presence"]
        assert any(p["kind"] == "device" and p["device"] == "E2E Phone" for p in presence), presence
        screenshot(driver, "dashboard-devices")

        # A platform toggled from the phone: the dashboard follows and so does the stored config
        # (so the next launch does not turn it back on).
        def stored_enabled(name):
            return next(p["enabled"] for p in stored_settings()["config"]["platforms"] if p["name"] == name)

        result = phone.command("t-1", {"action": "set_platform_enabled", "platform": "youtube-main", "enabled": False})
        assert result["ok"], result
        wait_for("dashboard shows it off", lambda: text(driver, "platform-status-youtube-main") == "off")
        wait_for("stored off", lambda: stored_enabled("youtube-main") is False, show=lambda: stored_settings()["config"]["platforms"])
        result = phone.command("t-2", {"action": "set_platform_enabled", "platform": "youtube-main", "enabled": True})
        assert result["ok"], result
        wait_for("stored on", lambda: stored_enabled("youtube-main") is True)
    finally:
        phone.close()
    wait_for("the phone left", lambda: not driver.find_elements(By.CSS_SELECTOR, '[data-testid="remote-device-e2e-phone"]'))


def test_sync_wrong_token_says_so_and_off_disconnects(driver, sync_server, control_port):
    def seen():
        """The line, the checkbox and the engine's own view: what a failure needs to be explained
        (this test ended on "Off: no token" instead of "Off" about once in ten runs, cause unknown)."""
        try:
            engine = control(control_port)["sync"]
        except Exception as e:  # the app may be the problem
            engine = repr(e)
        return f"line {text(driver, 'sync-state')!r}, box ticked {el(driver, 'sync-enabled').is_selected()}, engine {engine}"

    goto(driver, "settings")
    wait_for("sync section", lambda: el(driver, "sync-section").is_displayed())
    typed(driver, "sync-token", "not-the-right-token")
    click(driver, "sync-save")
    wait_for("wrong token", lambda: text(driver, "sync-state") == "Retrying: wrong token",
             timeout=20, show=lambda: text(driver, "sync-state"))
    click(driver, "sync-token-forget")
    wait_for("forgotten", lambda: "No token" in text(driver, "sync-token-state"), show=lambda: text(driver, "sync-token-state"))
    out = subprocess.run(["secret-tool", "lookup", "service", "streampai", "username", "sync-token"],
                         capture_output=True, text=True, check=False)
    assert out.stdout.strip() == ""
    # The forget re-renders the section with its new state; untick after that (an edit made
    # before a re-render can be lost: see the session note).
    wait_for("no token", lambda: text(driver, "sync-state").startswith("Off"), show=seen)
    el(driver, "sync-enabled").click()
    assert not el(driver, "sync-enabled").is_selected(), seen()
    click(driver, "sync-save")
    wait_for("off", lambda: text(driver, "sync-state") == "Off", timeout=20, show=seen)
    assert not stored_settings()["config"]["sync"].get("url")
    assert el(driver, "sync-url").get_attribute("value") == sync_server.url, "the address is kept for later"


def close_window(driver, handle):
    """Closes a window the way its close button does (WebDriver's close only ends the webview).
    The close runs after the script has returned, so WebDriver never waits on a closing page."""
    driver.switch_to.window(handle)
    driver.execute_script(
        "const i = window.__TAURI_INTERNALS__;"
        "setTimeout(() => i.invoke('plugin:window|close', {label: i.metadata.currentWindow.label}), 50);"
        "return true;"
    )


def windows_in(control_port):
    return [p for p in control(control_port)["presence"] if p["kind"] == "window"]


def test_windows_hold_the_tree_until_the_last_closes(driver, control_port):
    first = driver.current_window_handle
    goto(driver, "dashboard")
    click(driver, "open-new-window")
    wait_for("second window", lambda: len(driver.window_handles) == 2)
    second = [h for h in driver.window_handles if h != first][0]
    wait_for("two window sessions", lambda: len(windows_in(control_port)) == 2)
    close_window(driver, first)
    wait_for("one window left", lambda: len(windows_in(control_port)) == 1, show=lambda: windows_in(control_port))
    driver.switch_to.window(second)
    assert control(control_port)["manager"] == "running"
    wait_for("the second window works", lambda: "OBS" in text(driver, "obs-state"))
    close_window(driver, second)  # the last window: the app stays in the tray
    wait_for("no windows", lambda: control(control_port)["presence"] == [])
    assert control(control_port)["manager"] == "running", "the grace has not passed yet"
    wait_for("tree stopped after the grace", lambda: control(control_port)["manager"] == "stopped", timeout=15)
