// Streampai web remote: speaks sync protocol v1 (docs/SYNC-PROTOCOL.md) as a `device`.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const store = (k) => sessionStorage.getItem(k) ?? localStorage.getItem(k);
  let deviceId = localStorage.getItem("sp.device_id");
  if (!deviceId) {
    deviceId = "web-" + Math.random().toString(36).slice(2, 10);
    localStorage.setItem("sp.device_id", deviceId);
  }
  const deviceName = (navigator.userAgent.match(/\(([^;)]+)/)?.[1] || "Browser").slice(0, 40) + " (web)";
  let ws = null, token = null, me = null, presences = {}, state = null, hostRef = null;
  let pingTimer = null, backoff = 500, seq = 0, nextId = 1, stopped = false;
  const pending = new Map();

  function log(text) { $("log").textContent = text; }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}/sync`);
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", version: 1, token, device_id: deviceId,
      device_name: deviceName, role: "device" }));
    ws.onmessage = (e) => handle(JSON.parse(e.data));
    ws.onclose = (e) => {
      clearInterval(pingTimer);
      $("conn").textContent = "(disconnected)";
      if (e.code === 4001 || e.code === 4002) {
        log(e.code === 4001 ? "Unknown token." : "This page is older than the server: reload.");
        signOut();
        return;
      }
      if (stopped) return;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  function send(msg) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg)); }

  function handle(m) {
    switch (m.type) {
      case "welcome":
        me = m.conn; backoff = 500;
        $("conn").textContent = `(${m.user})`;
        $("signin").hidden = true; $("app").hidden = false;
        pingTimer = setInterval(() => send({ type: "ping", seq: ++seq }), m.heartbeat_interval_ms);
        break;
      case "presence_state": presences = m.presences; render(); break;
      case "presence_diff":
        for (const [k, v] of Object.entries(m.leaves)) {
          const refs = new Set(v.metas.map((x) => x.ref));
          if (presences[k]) {
            presences[k].metas = presences[k].metas.filter((x) => !refs.has(x.ref));
            if (!presences[k].metas.length) delete presences[k];
          }
        }
        for (const [k, v] of Object.entries(m.joins)) {
          presences[k] = presences[k] || { metas: [] };
          for (const meta of v.metas) if (!presences[k].metas.some((x) => x.ref === meta.ref)) presences[k].metas.push(meta);
        }
        render(); break;
      case "stream_state": state = m.state; hostRef = m.host; render(); break;
      case "command_result": {
        const what = pending.get(m.id); pending.delete(m.id);
        log(m.result.ok ? `${what}: done` : `${what}: ${m.result.error?.message || "failed"}`);
        break;
      }
      case "error": log(`Server: ${m.message}`); break;
    }
  }

  function command(command, label) {
    const id = `w${nextId++}`;
    pending.set(id, label);
    send({ type: "command", id, command });
    log(`${label}…`);
    setTimeout(() => { if (pending.delete(id)) log(`${label}: no answer`); }, 20000);
  }

  function render() {
    const phase = state?.phase || "no host";
    $("phase").textContent = phase;
    $("detail").textContent = state ? `input: ${state.input || "unknown"}` + (state.started_at ? ` · since ${new Date(state.started_at).toLocaleTimeString()}` : "") : "";
    $("start").disabled = !state || phase !== "offline";
    $("stop").disabled = !state || !(phase === "live" || phase === "starting");
    const pl = $("platforms"); pl.textContent = "";
    const entries = Object.entries(state?.platforms || {});
    if (!entries.length) { const li = document.createElement("li"); li.className = "muted"; li.textContent = state ? "no platforms" : "no host connected"; pl.append(li); }
    for (const [name, p] of entries) {
      const li = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = `${name}: ${p.status}${p.reason ? " (" + p.reason + ")" : ""}`;
      const b = document.createElement("button");
      const enabled = p.status !== "disabled";
      b.textContent = enabled ? "Disable" : "Enable";
      b.onclick = () => command({ action: "set_platform_enabled", platform: name, enabled: !enabled }, `${b.textContent} ${name}`);
      li.append(label, b); pl.append(li);
    }
    const dl = $("devices"); dl.textContent = "";
    for (const [id, v] of Object.entries(presences)) {
      for (const meta of v.metas) {
        const li = document.createElement("li");
        li.textContent = `${meta.device_name}${meta.role === "host" ? " · host" : ""}${meta.ref === me ? " · this device" : ""}`;
        li.title = id; dl.append(li);
      }
    }
  }

  function signOut() {
    stopped = true; token = null;
    sessionStorage.removeItem("sp.token"); localStorage.removeItem("sp.token");
    if (ws) ws.close();
    $("signin").hidden = false; $("app").hidden = true;
  }

  $("signin-form").onsubmit = (e) => {
    e.preventDefault();
    token = $("token").value.trim(); $("token").value = "";
    (($("remember").checked) ? localStorage : sessionStorage).setItem("sp.token", token);
    stopped = false; connect();
  };
  $("start").onclick = () => command({ action: "start" }, "Start");
  $("stop").onclick = () => command({ action: "stop" }, "Stop");
  for (const b of document.querySelectorAll("[data-cmd]")) b.onclick = () => command({ action: b.dataset.cmd }, b.textContent);
  $("signout").onclick = signOut;
  token = store("sp.token");
  if (token) connect();
})();
