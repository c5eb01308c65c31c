"""Platform accounts in a real window against the real fake Twitch and fake YouTube
(`fake-platforms` as one process): Settings › Accounts takes the Twitch app's client id (checked
by the engine's rule), "Sign in with Twitch" shows the device code big, opens Twitch's page in the
browser (a recorder program given as STREAMPAI_BROWSER, so no real browser starts) and Copy copies
the code; the test enters the code at the fake (its control endpoint) and the card says "Signed in
as …". YouTube's card takes the Google OAuth client's id and secret (a bad id refused first);
"Sign in with YouTube" opens Google's consent page, which the test loads itself (the fake approves
and redirects to the engine's loopback listener) → signed in as the fake channel. The dashboard's
"Stream info" card then sets the title and a searched category on the fake Twitch's channel and
the title and description on the fake YouTube's live broadcast. A raid and a follow sent through
the fake's EventSub WebSocket, and a Super Chat put into the fake broadcast's live chat, appear on
the Alerts page with their platform's badge and on the OBS overlay in a real headless Chromium;
then Sign out of both. Its own app session (a separate pytest invocation, like test_obs.py).
The tests run in file order: each one continues where the one before left off."""
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from conftest import (CONTROL_TOKEN, SHOTS, TARGET, click, clipboard, control, el, free_port, goto, http, screenshot,
                      shown, text, typed, wait_for)

FAKE_PLATFORMS = Path(os.environ.get("FAKE_PLATFORMS_BIN", TARGET / "debug" / "fake-platforms"))
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"),
    reason="needs chromium + chromium-driver (scripts/deps.sh) for the overlay",
)
# A Twitch client id as the console issues them (letters and digits); the fake accepts only it.
CLIENT_ID = "e2etwitchclientid0000000000001"
OVERLAY_KEY = "e2e-overlay-key-0123456789"
LOGIN = "streampai_tester"  # the fake's broadcaster
CHANNEL = "Streampai Tester"  # the fake YouTube's channel
TITLE = "E2E speedrun: any% glitchless"
DESCRIPTION = "Links: example.org"


class FakeTwitch:
    def __init__(self, proc, urls):
        self.proc, self.urls = proc, urls
        self.root = urls["TWITCH_AUTH_URL"].removesuffix("/oauth2")

    def ctl(self, method, path, body=None):
        return http(method, f"{self.root}/__fake/twitch/{path}", body)

    def approve(self, code):
        return self.ctl("POST", "approve", {"user_code": code})

    def push(self, kind, event):
        return self.ctl("POST", f"events/{kind}", event)

    def subscriptions(self):
        subs = self.ctl("GET", "subscriptions")
        return subs.get("data", subs) if isinstance(subs, dict) else subs


class FakeYouTube:
    def __init__(self, urls):
        self.urls = urls
        self.root = urls["YOUTUBE_TOKEN_URL"].removesuffix("/token")
        self.client_id, self.client_secret = urls["YOUTUBE_CLIENT_ID"], urls["YOUTUBE_CLIENT_SECRET"]

    def ctl(self, method, path, body=None):
        return http(method, f"{self.root}/__fake/youtube/{path}", body)

    def live(self):
        return [b for b in self.ctl("GET", "broadcasts") if b["life_cycle_status"] == "live"]


@pytest.fixture(scope="session")
def platforms(work):
    """`fake-platforms`: the fake Twitch and the fake YouTube on one port; its printed URLs."""
    assert FAKE_PLATFORMS.exists(), f"build the fake first: cargo build -p fake-platforms ({FAKE_PLATFORMS})"
    log = open(work / "fake-platforms.log", "w")
    proc = subprocess.Popen([str(FAKE_PLATFORMS), "--listen", "127.0.0.1:0", "--client-id", CLIENT_ID,
                             "--interval-secs", "1"], stdout=subprocess.PIPE, stderr=log, text=True)
    urls = {}
    for _ in range(9):
        line = proc.stdout.readline()
        m = re.match(r"((?:TWITCH|YOUTUBE)_[A-Z_]+)=(\S*)", line)
        assert m, f"fake-platforms said: {line!r}"
        urls[m.group(1)] = m.group(2)
    assert urls["TWITCH_CLIENT_ID"] == CLIENT_ID, urls
    yield proc, urls
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def twitch(platforms):
    return FakeTwitch(*platforms)


@pytest.fixture(scope="session")
def youtube(platforms):
    return FakeYouTube(platforms[1])


@pytest.fixture(scope="session")
def opened(work):
    """The program the app opens pages with (STREAMPAI_BROWSER): it writes down each address."""
    out = work / "opened.txt"
    script = work / "browser.sh"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{out}'\n")
    script.chmod(0o755)
    return {"script": script, "log": out}


@pytest.fixture(scope="session")
def app_env(work, twitch, youtube, opened, control_port, local_port):
    """Overrides conftest's: a fresh profile, no Cloudflare, Twitch's and YouTube's addresses at
    the fakes (the client ids and YouTube's secret are typed in the window), a known overlay key,
    the recording browser."""
    for k in ("STREAMPAI_CONFIG", "STREAMPAI_CLOUDFLARE_API_BASE", "STREAMPAI_TWITCH_CLIENT_ID",
              "STREAMPAI_YOUTUBE_CLIENT_ID", "STREAMPAI_YOUTUBE_CLIENT_SECRET"):
        os.environ.pop(k, None)
    os.environ.update({
        "STREAMPAI_DATA_DIR": str(work / "data"),
        "STREAMPAI_CONTROL_LISTEN": f"127.0.0.1:{control_port}",
        "STREAMPAI_CONTROL_TOKEN": CONTROL_TOKEN,
        "STREAMPAI_LOCAL_LISTEN": f"127.0.0.1:{local_port}",
        "STREAMPAI_OBS_URL": f"ws://127.0.0.1:{free_port()}",  # never an OBS running here
        "STREAMPAI_TWITCH_AUTH_URL": twitch.urls["TWITCH_AUTH_URL"],
        "STREAMPAI_TWITCH_API_URL": twitch.urls["TWITCH_API_URL"],
        "STREAMPAI_TWITCH_EVENTSUB_URL": twitch.urls["TWITCH_EVENTSUB_URL"],
        "STREAMPAI_YOUTUBE_AUTH_URL": youtube.urls["YOUTUBE_AUTH_URL"],
        "STREAMPAI_YOUTUBE_TOKEN_URL": youtube.urls["YOUTUBE_TOKEN_URL"],
        "STREAMPAI_YOUTUBE_API_URL": youtube.urls["YOUTUBE_API_URL"],
        "STREAMPAI_OVERLAY_KEY": OVERLAY_KEY,
        "STREAMPAI_BROWSER": str(opened["script"]),
        "RUST_LOG": os.environ.get("RUST_LOG", "info"),
    })
    return os.environ


@pytest.fixture(scope="session")
def overlay(work, control_port):
    """The OBS overlay page in a real headless Chromium (like tests/overlay_browser.rs)."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=900,440", f"--user-data-dir={work / 'chromium'}"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(TARGET / "chromedriver.log")), options=opts)
    drv.get(f"http://127.0.0.1:{control_port}/overlay/alerts?key={OVERLAY_KEY}")
    yield drv
    drv.quit()


def into_view(driver, testid):
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", el(driver, testid))


def twitch_status(control_port):
    return control(control_port)["accounts"]["twitch"]


def youtube_status(control_port):
    return control(control_port)["accounts"]["youtube"]


def state(driver, platform="twitch"):
    return text(driver, f"account-state-{platform}")


def overlay_headline(overlay):
    return overlay.execute_script(
        "const b = document.getElementById('alert');"
        "return b.classList.contains('on') ? document.getElementById('headline').textContent : null;")


def test_the_client_id_is_checked_and_saved(driver, control_port):
    # A fresh profile: through the first run (this computer, no platforms, OBS not running).
    wait_for("setup page", lambda: shown(driver, "setup"))
    click(driver, "setup-next")
    wait_for("platform step", lambda: shown(driver, "pf-kind"))
    click(driver, "setup-next")
    click(driver, "setup-finish")
    wait_for("dashboard", lambda: shown(driver, "nav-settings"))
    goto(driver, "settings")
    wait_for("accounts", lambda: shown(driver, "account-card-twitch"), show=lambda: text(driver, "accounts-section"))
    wait_for("asks for the client id", lambda: state(driver).startswith("Not set up"), show=lambda: state(driver))
    assert not el(driver, "account-sign-in-twitch").is_enabled(), "no sign-in without a client id"
    assert shown(driver, "account-setup-twitch") and "Client Type: Public" in text(driver, "account-setup-twitch")
    assert "not replayed by Twitch" in text(driver, "account-replay-note-twitch")
    # YouTube's card is there too, with its Google OAuth client form open.
    wait_for("YouTube card", lambda: state(driver, "youtube") ==
             "Not set up: YouTube sign-in needs the client id and secret of your Google OAuth client",
             show=lambda: text(driver, "account-card-youtube"))
    assert not el(driver, "account-sign-in-youtube").is_enabled()
    assert "Desktop app" in text(driver, "account-setup-youtube")
    assert el(driver, "youtube-client-secret").get_attribute("type") == "password"
    # The engine's rule, live while typing and again on Save: nothing saved.
    typed(driver, "twitch-client-id", "my app/id")
    wait_for("client id checked", lambda: "not a Twitch client id" in text(driver, "twitch-error-client-id"),
             show=lambda: text(driver, "twitch-error-client-id"))
    click(driver, "twitch-client-id-save")
    wait_for("refused", lambda: "Check the client id" in text(driver, "twitch-client-id-result"))
    into_view(driver, "accounts-section")
    screenshot(driver, "accounts-1-client-id")
    typed(driver, "twitch-client-id", CLIENT_ID)
    wait_for("client id fine", lambda: text(driver, "twitch-error-client-id") == "")
    click(driver, "twitch-client-id-save")
    wait_for("saved", lambda: text(driver, "twitch-client-id-result") == "Saved. You can sign in now.",
             show=lambda: text(driver, "twitch-client-id-result"))
    wait_for("ready to sign in", lambda: state(driver) == "Not signed in", show=lambda: state(driver))
    assert el(driver, "account-sign-in-twitch").is_enabled()
    assert twitch_status(control_port)["state"] == "signed_out"


def test_sign_in_shows_the_code_opens_twitchs_page_and_signs_in(driver, twitch, opened, control_port):
    click(driver, "account-sign-in-twitch")
    wait_for("the code", lambda: shown(driver, "account-code-twitch"), timeout=20,
             show=lambda: (state(driver), text(driver, "account-result-twitch")))
    code = text(driver, "account-code-twitch")
    assert re.fullmatch(r"[A-Z0-9]{6,12}", code), code
    assert state(driver) == "Waiting for the code to be entered on Twitch's page…"
    assert twitch_status(control_port)["user_code"] == code
    uri = text(driver, "account-uri-twitch")
    assert code in uri and uri.startswith("https://"), uri
    # The page went to the browser (the recorder), exactly the engine's address.
    wait_for("Twitch's page opened", lambda: opened["log"].exists() and uri in opened["log"].read_text().splitlines(),
             show=lambda: opened["log"].read_text() if opened["log"].exists() else "nothing opened")
    click(driver, "account-copy-twitch")
    wait_for("code copied", lambda: (clipboard() or "").strip() == code, show=clipboard)
    into_view(driver, "accounts-section")
    screenshot(driver, "accounts-2-code")
    # "Open the page again" opens the same page once more.
    click(driver, "account-open-twitch")
    wait_for("opened again", lambda: opened["log"].read_text().splitlines().count(uri) == 2,
             show=lambda: opened["log"].read_text())
    # The streamer enters the code on Twitch's page (here: the fake's control endpoint).
    assert twitch.approve(code) == {"approved": code}
    wait_for("signed in", lambda: state(driver) == f"Signed in as {LOGIN}", timeout=30, show=lambda: state(driver))
    assert not shown(driver, "account-code-twitch")
    wait_for("events flowing", lambda: text(driver, "account-events-twitch").startswith("Receiving Twitch events (6 types)"),
             timeout=30, show=lambda: text(driver, "account-events-twitch"))
    s = twitch_status(control_port)
    assert (s["state"], s["login"], s["events"]["state"]) == ("signed_in", LOGIN, "connected"), s
    assert {x["type"] for x in twitch.subscriptions()} >= {"channel.raid", "channel.follow"}
    into_view(driver, "accounts-section")
    screenshot(driver, "accounts-3-signed-in")


def test_the_youtube_client_is_checked_and_saved(driver, youtube, control_port):
    """YouTube's Google OAuth client: the engine's rules while typing, the server's answer naming
    the field on Save, then the fake's client saved and applied at once."""
    goto(driver, "settings")
    into_view(driver, "account-card-youtube")
    # A bad id: the engine's rule, live while typing; Save refuses without asking the engine.
    typed(driver, "youtube-client-id", "my client id")
    wait_for("id checked", lambda: "not a Google OAuth client id" in text(driver, "youtube-error-client-id"),
             show=lambda: text(driver, "youtube-error-client-id"))
    typed(driver, "youtube-client-secret", youtube.client_secret)
    click(driver, "youtube-client-save")
    wait_for("refused", lambda: text(driver, "youtube-client-result") == "Check the client id above.",
             show=lambda: text(driver, "youtube-client-result"))
    # A good id without its secret: the shell refuses, naming the secret's field.
    typed(driver, "youtube-client-id", youtube.client_id)
    el(driver, "youtube-client-secret").clear()
    wait_for("id fine", lambda: text(driver, "youtube-error-client-id") == "")
    click(driver, "youtube-client-save")
    wait_for("secret asked for", lambda: "enter the client secret" in text(driver, "youtube-error-client-secret").lower(),
             show=lambda: (text(driver, "youtube-error-client-secret"), text(driver, "youtube-client-result")))
    assert youtube_status(control_port)["state"] == "signed_out"
    assert "not confidential" in text(driver, "youtube-secret-note")
    into_view(driver, "account-card-youtube")
    screenshot(driver, "accounts-7-youtube-client")
    # The fake's client, id and secret: saved, applied at once; the secret box empties.
    typed(driver, "youtube-client-secret", youtube.client_secret)
    click(driver, "youtube-client-save")
    wait_for("saved", lambda: text(driver, "youtube-client-result") == "Saved. You can sign in now.",
             show=lambda: (text(driver, "youtube-client-result"), text(driver, "youtube-error-client-secret")))
    wait_for("ready to sign in", lambda: state(driver, "youtube") == "Not signed in", show=lambda: state(driver, "youtube"))
    assert el(driver, "account-sign-in-youtube").is_enabled()
    secret = el(driver, "youtube-client-secret")
    assert secret.get_attribute("value") == "" and secret.get_attribute("placeholder").startswith("saved"), \
        secret.get_attribute("placeholder")
    assert youtube.client_secret not in driver.page_source, "the saved secret came back to the window"


def test_sign_in_with_youtube_completes_the_loopback_redirect(driver, youtube, opened, control_port):
    """Sign in with YouTube: Google's consent page opens in the browser (the recorder); the test
    loads it as the browser would: the fake approves and redirects to the engine's 127.0.0.1
    listener → signed in as the fake channel."""
    # The streamer is live on YouTube already (its live chat brings the Super Chats).
    youtube.ctl("POST", "broadcasts", {"title": "Fake stream", "persistent": True})
    assert len(youtube.live()) == 1
    click(driver, "account-sign-in-youtube")
    wait_for("waiting for the browser",
             lambda: state(driver, "youtube") == "Waiting for you to finish signing in on YouTube's page in your browser…",
             timeout=20, show=lambda: (state(driver, "youtube"), text(driver, "account-result-youtube")))
    page = text(driver, "account-uri-youtube")
    assert page.startswith(youtube.urls["YOUTUBE_AUTH_URL"] + "?") and "code_challenge_method=S256" in page, page
    wait_for("Google's page opened", lambda: page in opened["log"].read_text().splitlines(),
             show=lambda: opened["log"].read_text())
    into_view(driver, "account-card-youtube")
    screenshot(driver, "accounts-8-youtube-pending")
    # The browser's part: the consent page (the fake approves at once) → the loopback redirect.
    with urllib.request.urlopen(page, timeout=20) as r:
        done = r.read().decode()
        assert r.status == 200 and r.url.startswith("http://127.0.0.1:"), (r.status, r.url)
    assert f"signed in to the channel {CHANNEL}" in done, done
    wait_for("signed in", lambda: state(driver, "youtube") == f"Signed in as {CHANNEL}", timeout=30,
             show=lambda: state(driver, "youtube"))
    wait_for("reading the live chat", lambda: text(driver, "account-events-youtube").startswith("Receiving YouTube"),
             timeout=30, show=lambda: text(driver, "account-events-youtube"))
    s = youtube_status(control_port)
    assert (s["state"], s["login"], s["events"]["state"]) == ("signed_in", CHANNEL, "connected"), s
    assert youtube.ctl("GET", "requests")["verifier_failures"] == 0
    # Signed in: the form folds away.
    assert el(driver, "account-setup-youtube").get_attribute("open") is None
    into_view(driver, "accounts-section")
    screenshot(driver, "accounts-9-both-signed-in")


def test_the_stream_info_card_sets_the_title_on_twitch_and_youtube(driver, twitch, youtube, control_port):
    """The dashboard's "Stream info" card: a title, a category searched and picked, Save → the
    fake Twitch's channel has both, the fake YouTube's live broadcast has the title and the
    description, and the card says so per platform."""
    goto(driver, "dashboard")
    wait_for("stream info card", lambda: shown(driver, "stream-info-card"), show=lambda: text(driver, "stream-info-card"))
    wait_for("category search offered", lambda: shown(driver, "stream-info-category-query"),
             show=lambda: text(driver, "stream-info-card"))
    title = TITLE
    typed(driver, "stream-info-title", title)
    typed(driver, "stream-info-category-query", "mine")
    click(driver, "stream-info-category-search")
    wait_for("search results", lambda: shown(driver, "stream-info-category-pick-27471"),
             show=lambda: text(driver, "stream-info-card"))
    assert text(driver, "stream-info-category-results") == "Minecraft"
    click(driver, "stream-info-category-pick-27471")
    wait_for("category picked", lambda: text(driver, "stream-info-category-name") == "Minecraft",
             show=lambda: text(driver, "stream-info-category"))
    typed(driver, "stream-info-description", DESCRIPTION)
    # The typed title survives the dashboard's redraws (status polls, events).
    assert el(driver, "stream-info-title").get_attribute("value") == title
    click(driver, "stream-info-save")
    wait_for("Twitch updated", lambda: shown(driver, "stream-info-push-twitch") and
             text(driver, "stream-info-push-twitch") == "Twitch: updated", timeout=40,
             show=lambda: text(driver, "stream-info-card"))
    wait_for("YouTube updated", lambda: text(driver, "stream-info-push-youtube") == "YouTube: updated",
             show=lambda: text(driver, "stream-info-card"))
    wait_for("last push shown", lambda: text(driver, "stream-info-last-push").startswith("Pushed on Save, "),
             show=lambda: text(driver, "stream-info-last-push"))
    channel = twitch.ctl("GET", "channel")
    assert (channel["title"], channel["game_id"], channel["game_name"]) == (title, "27471", "Minecraft"), channel
    # The engine keeps it: the control API shows the saved info and the push.
    info = control(control_port, "/api/v1/stream/info")
    assert info["info"]["title"] == title and info["info"]["twitch_category_id"] == "27471", info
    assert info["last_push"]["results"]["twitch"]["ok"] is True, info
    assert info["last_push"]["results"]["youtube"]["ok"] is True, info
    [broadcast] = youtube.live()
    assert (broadcast["title"], broadcast["description"]) == (title, DESCRIPTION), broadcast
    into_view(driver, "stream-info-card")
    screenshot(driver, "accounts-6-stream-info")


def test_a_raid_and_a_follow_reach_the_alerts_page_and_the_overlay(driver, twitch, overlay, control_port):
    # The dashboard says which platforms feed alerts, too.
    goto(driver, "dashboard")
    wait_for("dashboard sources line", lambda: text(driver, "alert-source-twitch") == f"Twitch: receiving, as {LOGIN}",
             show=lambda: text(driver, "alert-sources"))
    goto(driver, "alerts")
    wait_for("sources line", lambda: text(driver, "alert-source-twitch") == f"Twitch: receiving, as {LOGIN}",
             show=lambda: text(driver, "alert-sources"))
    # The overlay is connected once it shows an alert: a manual test alert first (its badge: Manual).
    click(driver, "send-test-alert")
    wait_for("the overlay shows the test alert", lambda: (overlay_headline(overlay) or "").startswith("Test viewer"),
             timeout=30, show=lambda: overlay.page_source[-600:])
    wait_for("test alert on the page", lambda: el(driver, "alert-current").get_attribute("data-platform") == "manual",
             show=lambda: text(driver, "alert-current"))
    assert text(driver, "alert-current").startswith("Manual ")
    click(driver, "alerts-skip")
    wait_for("overlay clear", lambda: overlay_headline(overlay) is None, timeout=15)

    broadcaster = {"to_broadcaster_user_id": "141981764", "to_broadcaster_user_login": LOGIN,
                   "to_broadcaster_user_name": "Streampai_Tester"}
    twitch.push("channel.raid", {"from_broadcaster_user_id": "4242", "from_broadcaster_user_login": "raidleader",
                                 "from_broadcaster_user_name": "RaidLeader", "viewers": 42, **broadcaster})
    twitch.push("channel.follow", {"user_id": "4343", "user_login": "newfollower", "user_name": "NewFollower",
                                   "broadcaster_user_id": "141981764", "broadcaster_user_login": LOGIN,
                                   "broadcaster_user_name": "Streampai_Tester", "followed_at": "2026-01-01T00:00:00Z"})
    # On the Alerts page: the raid on screen, the follow queued behind it, both badged Twitch.
    wait_for("raid on screen", lambda: "raid from RaidLeader" in text(driver, "alert-current"), timeout=30,
             show=lambda: (text(driver, "alert-current"), text(driver, "alert-queue")))
    assert el(driver, "alert-current").get_attribute("data-platform") == "twitch"
    assert text(driver, "alert-current").startswith("Twitch raid from RaidLeader · 42")
    wait_for("follow queued", lambda: "follow from NewFollower" in text(driver, "alert-queue"),
             show=lambda: text(driver, "alert-queue"))
    queued = el(driver, "alert-queue").find_elements(By.CSS_SELECTOR, "li")
    assert [li.get_attribute("data-platform") for li in queued] == ["twitch"], [li.text for li in queued]
    screenshot(driver, "accounts-4-alerts")
    # The contract: GET /api/v1/alerts carries the platform.
    alerts = control(control_port, "/api/v1/alerts")
    assert alerts["current"]["platform"] == "twitch" and alerts["current"]["from"] == "RaidLeader", alerts
    # On the overlay, in Chromium: the raid, then the follow (the overlay reports each one done).
    seen = []

    def overlay_saw_both():
        h = overlay_headline(overlay)
        if h and h not in seen:
            seen.append(h)
        return "NewFollower followed!" in seen

    wait_for("raid then follow on the overlay", overlay_saw_both, timeout=60, every=0.05, show=lambda: seen)
    assert seen[:2] == ["RaidLeader is raiding with 42 viewers!", "NewFollower followed!"], seen
    SHOTS.mkdir(parents=True, exist_ok=True)
    overlay.save_screenshot(str(SHOTS / "accounts-5-overlay.png"))
    wait_for("both shown on the page", lambda: "follow from NewFollower" in text(driver, "alert-history"), timeout=30,
             show=lambda: text(driver, "alert-history"))
    history = el(driver, "alert-history").find_elements(By.CSS_SELECTOR, "li")
    assert [li.get_attribute("data-platform") for li in history[:2]] == ["twitch", "twitch"], [li.text for li in history]


def test_a_super_chat_reaches_the_alerts_page_and_the_overlay(driver, youtube, overlay, control_port):
    """A Super Chat in the fake broadcast's live chat: on the Alerts page with a YouTube badge
    and its amount and currency, and on the OBS overlay (connected since the raid test)."""
    goto(driver, "alerts")
    wait_for("sources line", lambda: text(driver, "alert-source-youtube") == f"YouTube: receiving, as {CHANNEL}",
             show=lambda: text(driver, "alert-sources"))
    wait_for("nothing on screen", lambda: overlay_headline(overlay) is None, timeout=30)
    details = {"amountMicros": "7500000", "currency": "EUR", "amountDisplayString": "€7.50",
               "userComment": "Great run!", "tier": 2}
    sent = youtube.ctl("POST", "chat/superChatEvent", {"author": "SuperFan", "details": details})
    message_id = sent["message_id"]
    wait_for("Super Chat on screen", lambda: "donation from SuperFan" in text(driver, "alert-current"), timeout=40,
             show=lambda: (text(driver, "alert-current"), text(driver, "alert-history")))
    assert el(driver, "alert-current").get_attribute("data-platform") == "youtube"
    assert text(driver, "alert-current").startswith("YouTube donation from SuperFan · 7.5 EUR"), text(driver, "alert-current")
    alerts = control(control_port, "/api/v1/alerts")
    cur = alerts["current"]
    assert (cur["platform"], cur["from"], cur["amount"], cur["currency"]) == ("youtube", "SuperFan", 7.5, "EUR"), alerts
    assert cur["message"] == "Great run!", alerts
    wait_for("the overlay shows it", lambda: (overlay_headline(overlay) or "").startswith("SuperFan donated"),
             timeout=30, show=lambda: overlay.page_source[-600:])
    headline = overlay_headline(overlay)
    assert "7.50" in headline and ("€" in headline or "EUR" in headline), headline
    assert overlay.execute_script("return document.getElementById('message').textContent") == "Great run!"
    SHOTS.mkdir(parents=True, exist_ok=True)
    overlay.save_screenshot(str(SHOTS / "accounts-10-super-chat-overlay.png"))
    screenshot(driver, "accounts-11-super-chat-alerts")
    # YouTube delivers the same message again: still one alert, once the engine has read the chat
    # past it (a chat request that came in after the redelivery).
    youtube.ctl("POST", f"redeliver/{message_id}")
    chat_reads = lambda: youtube.ctl("GET", "requests")["by_route"].get("chat_messages", 0)
    before = chat_reads()
    wait_for("the chat read again", lambda: chat_reads() > before, timeout=60, show=chat_reads)
    click(driver, "alerts-skip")
    wait_for("overlay clear", lambda: overlay_headline(overlay) is None, timeout=15)
    wait_for("in the history", lambda: "donation from SuperFan" in text(driver, "alert-history"),
             show=lambda: text(driver, "alert-history"))
    history = [li.text for li in el(driver, "alert-history").find_elements(By.CSS_SELECTOR, "li")]
    assert sum("donation from SuperFan" in t for t in history) == 1, history


def sign_out_on_the_card(driver, control_port, platform, label, who):
    """Sign out on `platform`'s card in Settings › Accounts: "Not signed in", the events off, the
    engine says so, and so does the Alerts page's sources line."""
    goto(driver, "settings")
    wait_for("signed in", lambda: state(driver, platform) == f"Signed in as {who}", show=lambda: state(driver, platform))
    click(driver, f"account-sign-out-{platform}")
    wait_for("signed out", lambda: state(driver, platform) == "Not signed in", timeout=20,
             show=lambda: state(driver, platform))
    assert shown(driver, f"account-sign-in-{platform}")
    wait_for("events off", lambda: text(driver, f"account-events-{platform}").startswith(f"Sign in to get {label}'s"),
             show=lambda: text(driver, f"account-events-{platform}"))
    s = control(control_port)["accounts"][platform]
    assert (s["state"], s["login"]) == ("signed_out", None), s
    goto(driver, "alerts")
    wait_for("sources line", lambda: text(driver, f"alert-source-{platform}") == f"{label}: not signed in",
             show=lambda: text(driver, "alert-sources"))


def test_sign_out(driver, twitch, control_port):
    sign_out_on_the_card(driver, control_port, "twitch", "Twitch", LOGIN)
    # Signed out at Twitch too: the token revoked there, the event link closed.
    assert twitch.ctl("GET", "requests")["by_route"].get("revoke", 0) >= 1
    wait_for("no subscription left", lambda: not [x for x in twitch.subscriptions() if x.get("status") == "enabled"],
             timeout=20, show=twitch.subscriptions)
    # Signed out, the Stream info card keeps the saved info and says where to sign in for a category.
    goto(driver, "dashboard")
    wait_for("category hint", lambda: shown(driver, "stream-info-category-hint"), show=lambda: text(driver, "stream-info-card"))
    assert text(driver, "stream-info-category-hint") == "Sign in to Twitch in Settings › Accounts to pick a category."
    assert not shown(driver, "stream-info-category-query")
    assert text(driver, "stream-info-category-name") == "Minecraft"


def test_sign_out_of_youtube(driver, youtube, control_port):
    sign_out_on_the_card(driver, control_port, "youtube", "YouTube", CHANNEL)
    # Revoked at Google (the fake) too; the client stays saved for the next sign-in.
    assert youtube.ctl("GET", "requests")["by_route"].get("revoke", 0) >= 1
    goto(driver, "settings")
    assert el(driver, "youtube-client-id").get_attribute("value") == youtube.client_id
    assert state(driver, "youtube") == "Not signed in"
