// The monitoring dashboard: one snapshot over the WebSocket at each change (see
// tsxbot.aggregator.dashboard), drawn into the page; the equity curve with lightweight-charts.
"use strict";

(() => {
  const { el, money, signClass, fillTable } = tsx;
  const $ = (id) => document.getElementById(id);
  let chart = null;
  let equity = null;
  let updates = 0;

  function setupChart() {
    const box = $("equity-chart");
    chart = LightweightCharts.createChart(box, {
      height: 260,
      layout: { background: { color: "#11161d" }, textColor: "#c9d1d9" },
      grid: { vertLines: { color: "#1f2630" }, horzLines: { color: "#1f2630" } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    equity = chart.addSeries(LightweightCharts.LineSeries, { color: "#58a6ff", lineWidth: 2 });
    new ResizeObserver(() => chart.applyOptions({ width: box.clientWidth })).observe(box);
  }

  function gauge(id, fraction, text) {
    const bar = $(id);
    const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
    bar.style.width = pct + "%";
    bar.dataset.level = pct >= 80 ? "high" : pct >= 50 ? "mid" : "low";
    $(id + "-text").textContent = `${pct}% · ${text}`;
  }

  function pnlCell(v) {
    const td = el("td", {}, money(v));
    if (v !== null && v !== undefined) signClass(td, v);
    return td;
  }

  function draw(s) {
    updates += 1;
    document.body.dataset.updates = String(updates);
    $("clock").textContent = s.exchangeTime ? new Date(s.exchangeTime).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "exchange time unknown";
    const state = $("state");
    state.textContent = s.tradingState;
    state.dataset.state = s.tradingState;
    $("why").textContent = Object.entries(s.why || {}).map(([cause, why]) => `${cause}: ${why}`).join("; ");
    const a = s.account;
    $("balance").textContent = money(a.balance);
    for (const k of ["realized", "open", "daily"]) {
      $(k).textContent = money(a[k]);
      signClass($(k), a[k]);
    }
    const g = s.gauges;
    gauge("gauge-daily", g.dailyLoss.fraction, `${money(g.dailyLoss.used)} of ${money(g.dailyLoss.limit)}`);
    gauge("gauge-maxloss", g.maxLoss.fraction, `${money(g.maxLoss.room)} left above the floor ${money(g.maxLoss.floor)}`);

    equity.setData(s.equityCurve);

    fillTable($("bots"), s.bots, (b) => [
      b.botId,
      b.symbol,
      b.strategy,
      el("td", { class: "state", dataset: { state: b.paused ? "PAUSED" : b.state } },
        (b.paused ? "PAUSED (aggregator)" : b.state) + (b.stale ? " · no heartbeat" : "")),
      String(b.position),
      pnlCell(b.realizedPnl === null ? null : b.realizedPnl + (b.openPnl || 0)),
      `${b.signalsToday} / ${b.signalsLimit}`,
      b.lastSignal || "–",
      b.lastSkip ? `${b.skipReason ? b.skipReason + ": " : ""}${b.lastSkip}` : "–",
    ]);
    fillTable($("positions"), s.positions.perBot.filter((p) => p.quantity !== 0 || p.realizedPnl !== 0), (p) => [
      p.botId || "unattributed", p.symbol, String(p.quantity), p.averagePrice ? p.averagePrice.toFixed(2) : "–", pnlCell(p.realizedPnl),
    ]);
    fillTable($("net"), s.positions.net, (n) => [n.symbol, String(n.quantity), n.exchangeQuantity === null ? "–" : String(n.exchangeQuantity)]);
    fillTable($("orders"), s.workingOrders, (o) => [
      o.botId || "–", o.symbol || o.contractId, o.side, o.orderType, String(o.quantity),
      String(o.limitPrice ?? o.stopPrice ?? "–"), o.status,
    ]);
    $("events").replaceChildren(
      ...(s.riskEvents.length
        ? s.riskEvents.map((e) => el("li", {}, el("span", { class: "muted" }, e.at.slice(11, 19) + " "), el("b", {}, e.kind + " "), e.message))
        : [el("li", { class: "muted" }, "none today")])
    );
    fillTable($("connections"), s.connections, (c) => [
      c.name, el("td", { class: c.ok ? "ok" : "bad" }, c.ok ? "ok" : "DOWN"), c.detail,
    ]);
    $("queue").textContent = `${s.queue.depth} / ${s.queue.limit}`;
    const ms = (v) => (v === null ? "–" : (v * 1000).toFixed(2) + " ms");
    const lat = s.latency.submissionSeconds;
    $("lat50").textContent = ms(lat.p50);
    $("lat99").textContent = ms(lat.p99);
    const trip = s.latency.roundTripSeconds;
    $("rt50").textContent = ms(trip.p50);
    $("rt99").textContent = ms(trip.p99);
    $("rtn").textContent = String(trip.count);
  }

  document.addEventListener("DOMContentLoaded", () => {
    tsx.start(() => {
      setupChart();
      tsx.live("/ws", (message) => { if (message.type === "snapshot") draw(message.data); });
    });
  });
})();
