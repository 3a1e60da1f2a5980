// Manual trading: candles (History, then live bars over the WebSocket) with the position's
// average, stop and target as lines; positions and working orders polled every second; moving a
// stop or target and flatten-all, each sent with the session's CSRF token.
"use strict";

(() => {
  const { el, fillTable, request } = tsx;
  const $ = (id) => document.getElementById(id);
  let chart = null;
  let candles = null;
  let lines = [];
  let updates = 0;
  let lastTime = 0;
  let last = { positions: [], orders: [] };

  function say(text, ok) {
    $("message").textContent = text;
    $("message").className = ok ? "ok" : "error";
  }

  async function loadBars() {
    const symbol = $("symbol").value;
    const timeframe = $("timeframe").value;
    $("chart-note").textContent = "loading history…";
    const r = await request("GET", `/api/bars?symbol=${encodeURIComponent(symbol)}&timeframe=${timeframe}`);
    if (!r.ok) { $("chart-note").textContent = (r.data && r.data.error) || `history unavailable (${r.status})`; candles.setData([]); return; }
    candles.setData(r.data.bars.map(({ time, open, high, low, close }) => ({ time, open, high, low, close })));
    lastTime = r.data.bars.length ? r.data.bars[r.data.bars.length - 1].time : 0;
    $("chart").dataset.bars = String(r.data.bars.length);
    $("chart-note").textContent = `${r.data.bars.length} bars`;
    drawLines();
  }

  function drawLines() {
    for (const l of lines) candles.removePriceLine(l);
    lines = [];
    const symbol = $("symbol").value;
    const position = last.positions.find((p) => p.symbol === symbol && p.netQuantity !== 0);
    if (!position) return;
    const add = (price, title, color) => lines.push(candles.createPriceLine({ price, title, color, lineWidth: 1, axisLabelVisible: true }));
    add(position.averagePrice, `avg ${position.netQuantity > 0 ? "long" : "short"} ${Math.abs(position.netQuantity)}`, "#58a6ff");
    for (const o of last.orders.filter((o) => o.symbol === symbol)) {
      if (o.stopPrice !== null && o.stopPrice !== undefined) add(o.stopPrice, "stop", "#f85149");
      else if (o.limitPrice !== null && o.limitPrice !== undefined) add(o.limitPrice, "target", "#3fb950");
    }
  }

  async function refresh() {
    const r = await request("GET", "/api/state");
    if (!r.ok) return;
    updates += 1;
    document.body.dataset.updates = String(updates);
    const s = r.data;
    last = s;
    $("state").textContent = s.tradingState;
    $("state").dataset.state = s.tradingState;
    $("why").textContent = Object.entries(s.why || {}).map(([c, w]) => `${c}: ${w}`).join("; ");
    fillTable($("positions"), s.positions.filter((p) => p.netQuantity !== 0), (p) => [p.symbol || p.contractId, p.botId || "–", String(p.netQuantity), p.averagePrice.toFixed(2)]);
    fillTable($("orders"), s.orders, (o) => [o.symbol || o.contractId, o.botId || "–", o.side, o.orderType, String(o.quantity), String(o.stopPrice ?? o.limitPrice ?? "–")]);
    drawLines();
  }

  function number(id) {
    const text = $(id).value.trim();
    return text === "" ? null : Number(text);
  }

  document.addEventListener("DOMContentLoaded", () => {
    tsx.start(async () => {
      chart = LightweightCharts.createChart($("chart"), {
        height: 420,
        layout: { background: { color: "#11161d" }, textColor: "#c9d1d9" },
        grid: { vertLines: { color: "#1f2630" }, horzLines: { color: "#1f2630" } },
        timeScale: { timeVisible: true, secondsVisible: false },
      });
      candles = chart.addSeries(LightweightCharts.CandlestickSeries, {});
      new ResizeObserver(() => chart.applyOptions({ width: $("chart").clientWidth })).observe($("chart"));
      const state = await request("GET", "/api/state");
      for (const s of (state.ok ? state.data.symbols : [])) $("symbol").append(el("option", { value: s }, s));
      $("symbol").addEventListener("change", loadBars);
      $("timeframe").addEventListener("change", loadBars);
      $("flatten").addEventListener("click", async () => {
        if (!confirm("Flatten every position and cancel every order, across all bots? Trading halts until resumed.")) return;
        const r = await request("POST", "/api/flatten", { reason: "manual trading page" });
        if (r.ok) say(`flatten all: ${r.data.result} (trading ${r.data.tradingState})`, true);
        else say(`flatten refused (${r.status}): ${(r.data && r.data.error) || "no reason given"}`, false);
        await refresh();
      });
      $("sltp").addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = { symbol: $("symbol").value, stopLoss: number("sltp-stop"), takeProfit: number("sltp-target") };
        const r = await request("POST", "/api/sltp", body);
        if (r.ok) say(`moved on ${body.symbol}: ${r.data.message || "done"}`, true);
        else say(`move refused (${r.status}): ${(r.data && (r.data.error || r.data.message)) || "no reason given"}`, false);
        await refresh();
      });
      await refresh();
      await loadBars();
      setInterval(refresh, 1000);
      tsx.live("/ws", (message) => {
        if (message.type !== "bar") return;
        const b = message.bar;
        if (b.symbol === $("symbol").value && b.timeframe === $("timeframe").value && b.time >= lastTime) {
          lastTime = b.time;
          candles.update({ time: b.time, open: b.open, high: b.high, low: b.low, close: b.close });
        }
      });
    });
  });
})();
