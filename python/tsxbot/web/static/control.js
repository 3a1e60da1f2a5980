// The control panel: the overview polled every 2 s, and the kill switch and bot actions, each
// sent with the session's CSRF token through the panel to the aggregator's API.
"use strict";

(() => {
  const { el, fillTable, request } = tsx;
  const $ = (id) => document.getElementById(id);
  let refreshes = 0;

  function say(text, ok) {
    const m = $("message");
    m.textContent = text;
    m.className = ok ? "ok" : "error";
  }

  async function act(path, what) {
    const r = await request("POST", "/api/aggregator" + path, { reason: $("reason").value });
    if (r.ok) say(`${what}: ${r.data.result} (trading ${r.data.tradingState})`, true);
    else say(`${what} refused (${r.status}): ${(r.data && r.data.error) || "no reason given"}`, false);
    await refresh();
  }

  // Pausing entries at the aggregator (its API) for one bot.
  function entriesButton(bot) {
    const pause = !bot.paused;
    const button = el("button", { type: "button", class: pause ? "" : "danger", dataset: { bot: bot.botId, kind: "entries" } }, pause ? "Block" : "Allow");
    button.addEventListener("click", () => act(`/bots/${encodeURIComponent(bot.botId)}/${pause ? "pause" : "resume"}`, `${pause ? "block" : "allow"} ${bot.botId}'s entries`));
    return el("td", {}, button);
  }

  // The bot's own commands, on its control channel (through the panel).
  async function command(bot, name) {
    if (name === "flatten" && !confirm(`Close ${bot.botId}'s position and cancel its orders, then pause it?`)) return;
    const r = await request("POST", `/api/bots/${encodeURIComponent(bot.botId)}/${name}`);
    if (r.ok) say(`${name} sent to ${bot.botId}`, true);
    else say(`${name} ${bot.botId} refused (${r.status}): ${(r.data && r.data.error) || "no reason given"}`, false);
    await refresh();
  }

  function botButtons(bot, enabled) {
    // ``manual`` is the manual trading page's orders: no bot process to command, only its entries.
    if (bot.botId === "manual") return el("td", { class: "muted" }, "the manual trading page");
    if (!enabled) return el("td", { class: "muted" }, "no bus here");
    const running = bot.state === "RUNNING" || bot.state === "WARMING_UP";
    const names = [running ? "pause" : "resume", bot.state === "STOPPED" ? "start" : "stop", "flatten"];
    return el("td", {}, ...names.map((name) => {
      const b = el("button", { type: "button", class: name === "flatten" || name === "stop" ? "danger" : "", dataset: { bot: bot.botId, command: name } }, name);
      b.addEventListener("click", () => command(bot, name));
      return b;
    }));
  }

  async function refresh() {
    const r = await request("GET", "/api/overview");
    const badge = $("live");
    if (!r.ok) {
      badge.dataset.live = "false";
      badge.textContent = `overview failed (${r.status})`;
      return;
    }
    refreshes += 1;
    document.body.dataset.updates = String(refreshes);
    badge.dataset.live = "true";
    badge.textContent = "live";
    const s = r.data;
    $("state").textContent = s.tradingState;
    $("state").dataset.state = s.tradingState;
    $("why").textContent = Object.entries(s.why || {}).map(([cause, why]) => `${cause}: ${why}`).join("; ");
    fillTable($("services"), s.services, (x) => [x.name, el("td", { class: x.ok ? "ok" : "bad" }, x.ok ? "ok" : "DOWN"), x.url, x.detail]);
    fillTable($("bots"), s.bots, (b) => [
      b.botId,
      b.symbol,
      el("td", { class: "state bot-state", dataset: { state: b.state || "UNKNOWN" } }, (b.state || "no status yet") + (b.message ? ` · ${b.message}` : "")),
      el("td", { class: "state agg-state", dataset: { state: b.paused ? "PAUSED" : "RUNNING" } }, b.paused ? `entries blocked${b.pauseReason ? ": " + b.pauseReason : ""}` : "entries allowed"),
      b.secondsSinceHeartbeat === null ? "never" : `${b.secondsSinceHeartbeat.toFixed(0)} s ago${b.stale ? " (stale)" : ""}`,
      botButtons(b, s.botControl),
      entriesButton(b),
    ]);
  }

  // The params form, generated from the bot's typed params (kind, choices, bounds).
  let fields = [];
  async function loadParams(botId) {
    const form = $("params");
    const r = await request("GET", `/api/bots/${encodeURIComponent(botId)}/params`);
    if (!r.ok) { form.replaceChildren(el("p", { class: "error" }, `parameters unavailable (${r.status})`)); return; }
    fields = r.data.fields;
    const inputs = fields.map((f) => {
      let input;
      if (f.kind === "choice") {
        input = el("select", { name: f.name }, ...f.choices.map((c) => el("option", { value: c, selected: c === f.value ? "selected" : null }, c)));
      } else if (f.kind === "boolean") {
        input = el("input", { name: f.name, type: "checkbox", checked: f.value ? "checked" : null });
      } else {
        input = el("input", { name: f.name, type: "text", inputmode: f.kind === "string" ? null : "decimal", value: f.value === null ? "" : String(f.value) });
      }
      const bounds = [f.minimum !== null && f.minimum !== undefined ? `min ${f.minimum}` : "", f.above !== null && f.above !== undefined ? `> ${f.above}` : "", f.maximum !== null && f.maximum !== undefined ? `max ${f.maximum}` : ""].filter(Boolean).join(", ");
      return el("label", { title: f.help || "" }, el("span", {}, f.name), input, el("small", { class: "muted" }, [f.help, bounds].filter(Boolean).join(" · ")));
    });
    form.replaceChildren(...inputs, el("button", { type: "submit" }, "Check and send RELOAD"));
  }

  function changes() {
    const form = $("params");
    const out = {};
    for (const f of fields) {
      const input = form.elements.namedItem(f.name);
      let value;
      if (f.kind === "boolean") value = input.checked;
      else if (f.kind === "choice") value = input.value;
      else if (input.value.trim() === "") value = f.nullable ? null : "";
      else if (f.kind === "integer" || f.kind === "number") value = Number.isNaN(Number(input.value)) ? input.value : Number(input.value);
      else value = input.value;
      if (value !== f.value) out[f.name] = value;
    }
    return out;
  }

  async function loadLogs() {
    const params = new URLSearchParams({ level: $("log-level").value, limit: "200" });
    if ($("log-component").value) params.set("component", $("log-component").value);
    const r = await request("GET", "/api/logs?" + params.toString());
    if (!r.ok) { fillTable($("logs"), [], () => []); return; }
    const select = $("log-component");
    for (const c of r.data.components) {
      if (![...select.options].some((o) => o.value === c)) select.append(el("option", { value: c }, c));
    }
    fillTable($("logs"), r.data.entries.slice().reverse(), (e) => [
      e.timestamp.replace("T", " ").slice(0, 23),
      el("td", { class: `level-${e.level}` }, e.level),
      e.component,
      e.event,
      Object.entries(e.fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" "),
    ]);
  }

  document.addEventListener("DOMContentLoaded", () => {
    tsx.start(async () => {
      $("halt").addEventListener("click", () => act("/halt", "halt"));
      $("resume").addEventListener("click", () => act("/resume", "resume"));
      $("flatten").addEventListener("click", () => {
        if (confirm("Flatten every position and cancel every order, across all bots? Trading halts until resumed.")) act("/flatten", "flatten all");
      });
      const overview = await request("GET", "/api/overview");
      const select = $("param-bot");
      for (const b of (overview.ok ? overview.data.bots : [])) select.append(el("option", { value: b.botId }, b.botId));
      select.addEventListener("change", () => loadParams(select.value));
      if (select.value) await loadParams(select.value);
      $("params").addEventListener("submit", async (event) => {
        event.preventDefault();
        const message = $("params-message");
        const sent = changes();
        if (!Object.keys(sent).length) { message.className = "error"; message.textContent = "nothing changed"; return; }
        const r = await request("POST", `/api/bots/${encodeURIComponent(select.value)}/params`, { changes: sent });
        message.className = r.ok ? "ok" : "error";
        message.textContent = r.ok ? `RELOAD sent to ${select.value}: ${Object.keys(sent).join(", ")}` : `refused (${r.status}): ${(r.data && r.data.error) || "no reason given"}`;
        await refresh();
      });
      for (const id of ["log-level", "log-component"]) $(id).addEventListener("change", loadLogs);
      $("log-refresh").addEventListener("click", loadLogs);
      await loadLogs();
      const config = await request("GET", "/api/config");
      $("config").textContent = config.ok ? JSON.stringify(config.data, null, 2) : `configuration unavailable (${config.status})`;
      await refresh();
      setInterval(refresh, 2000);
    });
  });
})();
