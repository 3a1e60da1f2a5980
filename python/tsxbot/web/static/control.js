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

  function botButton(bot) {
    const pause = !bot.paused;
    const button = el("button", { type: "button", class: pause ? "" : "danger", dataset: { bot: bot.botId } }, pause ? "Pause" : "Resume");
    button.addEventListener("click", () => act(`/bots/${encodeURIComponent(bot.botId)}/${pause ? "pause" : "resume"}`, `${pause ? "pause" : "resume"} ${bot.botId}`));
    return el("td", {}, button);
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
      el("td", { class: "state", dataset: { state: b.paused ? "PAUSED" : "RUNNING" } }, b.paused ? `PAUSED${b.pauseReason ? ": " + b.pauseReason : ""}` : "trading"),
      b.secondsSinceHeartbeat === null ? "never" : `${b.secondsSinceHeartbeat.toFixed(0)} s ago${b.stale ? " (stale)" : ""}`,
      botButton(b),
    ]);
  }

  document.addEventListener("DOMContentLoaded", () => {
    tsx.start(async () => {
      $("halt").addEventListener("click", () => act("/halt", "halt"));
      $("resume").addEventListener("click", () => act("/resume", "resume"));
      $("flatten").addEventListener("click", () => {
        if (confirm("Flatten every position and cancel every order, across all bots? Trading halts until resumed.")) act("/flatten", "flatten all");
      });
      const config = await request("GET", "/api/config");
      $("config").textContent = config.ok ? JSON.stringify(config.data, null, 2) : `configuration unavailable (${config.status})`;
      await refresh();
      setInterval(refresh, 2000);
    });
  });
})();
