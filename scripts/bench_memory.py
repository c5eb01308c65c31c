"""Measures the idle memory of the desktop app and its WebKit processes (see bench-memory.sh)."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

app, fake_bin, idle = sys.argv[1], sys.argv[2], float(sys.argv[3])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rollup(pid):
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                fields[m.group(1)] = int(m.group(2))
    with open(f"/proc/{pid}/comm") as f:
        name = f.read().strip()
    return name, fields.get("Pss", 0), fields.get("Rss", 0)


work = tempfile.mkdtemp()
fake = subprocess.Popen([fake_bin, "--listen", "127.0.0.1:0", "--account-id", "bench", "--token", "bench-token"],
                        stdout=subprocess.PIPE, text=True)
base = re.match(r"FAKE_CLOUDFLARE_BASE=(\S+)", fake.stdout.readline()).group(1)
port = free_port()
config = os.path.join(work, "streampai.toml")
with open(config, "w") as f:
    f.write(f'user_id = "bench"\n[control]\nlisten = "127.0.0.1:{port}"\n[cloudflare]\naccount_id = "bench"\n'
            f'api_base = "{base}"\npoll_interval_ms = 2000\n'
            '[[platforms]]\nname = "twitch-main"\nkind = "twitch"\n[[platforms]]\nname = "youtube-main"\nkind = "youtube"\n')
env = dict(os.environ, STREAMPAI_CONFIG=config, STREAMPAI_DATA_DIR=os.path.join(work, "data"),
           STREAMPAI_CLOUDFLARE_API_TOKEN="bench-token", STREAMPAI_CONTROL_TOKEN="bench",
           STREAMPAI_STREAM_KEY_TWITCH_MAIN="k1", STREAMPAI_STREAM_KEY_YOUTUBE_MAIN="k2", RUST_LOG="warn")
proc = subprocess.Popen([app], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
try:
    deadline = time.time() + 60
    while True:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/status", headers={"authorization": "Bearer bench"})
            status = json.load(urllib.request.urlopen(req, timeout=2))
            if status["manager"] == "running" and status["input"] != "unknown":
                break
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            sys.exit("the app did not come up")
        time.sleep(0.2)
    time.sleep(idle)  # idle: dashboard open, engine polling the fake
    rows = [rollup(p) for p in descendants(proc.pid) if os.path.exists(f"/proc/{p}/smaps_rollup")]
    pss = sum(r[1] for r in rows)
    rss = sum(r[2] for r in rows)
    for name, p, r in rows:
        print(f"  {name:<24} PSS {p / 1024:7.1f} MiB   RSS {r / 1024:7.1f} MiB")
    print(f"total ({len(rows)} processes, after {idle:.0f} s idle): PSS {pss / 1024:.1f} MiB, RSS {rss / 1024:.1f} MiB")
    print("target: PSS under 150 MiB:", "met" if pss / 1024 < 150 else "NOT met")
finally:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(20)
    fake.terminate()
    fake.wait(10)
