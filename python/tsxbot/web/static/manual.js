// Manual trading: candles (History, then live bars over the WebSocket) with the position's
// average, stop and target as lines; positions and working orders polled every second; the order
// ticket (previewed by the server before sending), close / partial close of any bot's position
// (on that bot's behalf, through the aggregator) and reverse of the manual bot's, cancel / modify
// of the manual bot's working orders and moving any bot's stop or target, moving the position's
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
  let last = { positions: [], orders: [], manual: {}, perBot: [] };
  let shown = "";

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
    const titles = [];
    const add = (price, title, color) => {
      titles.push(title);
      lines.push(candles.createPriceLine({ price, title, color, lineWidth: 1, axisLabelVisible: true }));
    };
    if (position) add(position.averagePrice, `avg ${position.netQuantity > 0 ? "long" : "short"} ${Math.abs(position.netQuantity)}`, "#58a6ff");
    for (const o of last.orders.filter((o) => o.symbol === symbol)) {
      const [price, title, color] = orderLine(o, position);
      if (price !== null && price !== undefined) add(price, title, color);
    }
    $("chart").dataset.lines = titles.join("|");  // what the lines say, for a test (the chart is a canvas)
  }

  // A working order's line: a stop or target protecting the position (its side closes it), a
  // bracket leg waiting for its entry to fill (SUSPENDED), or an entry, labelled by its type and side.
  function orderLine(o, position) {
    const price = o.stopPrice ?? o.limitPrice;
    const isStop = o.stopPrice !== null && o.stopPrice !== undefined;
    if (o.status === "SUSPENDED") return [price, `pending ${isStop ? "stop" : "target"}`, isStop ? "#f85149" : "#3fb950"];
    const closes = position && (o.side === "BUY") === (position.netQuantity < 0);
    if (closes) return isStop ? [price, "stop", "#f85149"] : [price, "target", "#3fb950"];
    return [price, `${o.orderType.toLowerCase()} ${o.side.toLowerCase()} ${o.quantity}`, "#d29922"];
  }

  function button(label, action, data) {
    return el("button", { type: "button", class: "small", dataset: { action, ...data } }, label);
  }

  function render(s) {
    // Rebuilt only when something changed, so a click is never lost to a redraw.
    const key = JSON.stringify([s.perBot, s.orders]);
    if (key === shown) return;
    shown = key;
    // Each bot's share of each position (the aggregator's attribution): closed on that bot's behalf.
    fillTable($("positions"), s.perBot || [], (p) => {
      const actions = el("td", {});
      const data = { symbol: p.symbol, bot: p.botId };
      if (p.botId) actions.append(button("Close", "close", data), button("Partial…", "partial", data));
      if (p.botId === "manual") actions.append(button("Reverse", "reverse", data));
      if (!p.botId) actions.append("unattributed: flatten all");
      return [p.symbol, p.botId || "–", String(p.quantity), p.averagePrice.toFixed(2), actions];
    });
    fillTable($("orders"), s.orders, (o) => {
      const actions = el("td", {});
      const data = { order: String(o.exchangeOrderId) };
      if (o.botId === "manual") actions.append(button("Cancel", "cancel", data), button("Modify…", "modify", data));
      // A strategy bot's stop or target (a bracket leg) moves as that bot's, through the aggregator.
      else if (o.botId && !o.orderId) actions.append(button("Move…", "modify", data));
      return [o.symbol || o.contractId, o.botId || "–", o.side, o.orderType, o.status || "–", String(o.quantity), String(o.stopPrice ?? o.limitPrice ?? "–"), actions];
    });
  }

  function ticket() {
    const type = $("t-type").value;
    return {
      symbol: $("symbol").value,
      side: $("t-side").value,
      orderType: type,
      quantity: Number($("t-qty").value),
      price: type === "MARKET" ? null : number("t-price"),
      stop: number("t-stop"),
      target: number("t-target"),
      unit: $("t-unit").value,
    };
  }

  function describe(r) {
    return (r.data && (r.data.error || r.data.message)) || `no reason given (${r.status})`;
  }

  let previewing = 0;
  async function preview() {
    const mine = ++previewing;
    const r = await request("POST", "/api/preview", ticket());
    if (mine !== previewing) return;
    const node = $("t-preview");
    if (!r.ok || !r.data.ok) { node.textContent = describe(r); node.className = "error"; delete node.dataset.risk; return; }
    const p = r.data.plan;
    const parts = [];
    if (p.stopTicks !== null) parts.push(`stop ${p.stopTicks} ticks${p.stopPrice !== null ? ` (${p.stopPrice})` : ""}`);
    if (p.targetTicks !== null) parts.push(`target ${p.targetTicks} ticks${p.targetPrice !== null ? ` (${p.targetPrice})` : ""}`);
    parts.push(`risk ${tsx.money(p.riskDollars)}`, `reward ${tsx.money(p.rewardDollars)}`, `R:R ${p.rewardRisk ?? "–"}`);
    node.textContent = parts.join(" · ");
    node.className = "muted";
    node.dataset.risk = String(p.riskDollars);
    node.dataset.rr = String(p.rewardRisk);
  }

  async function act(event) {
    const target = event.target.closest("button[data-action]");
    if (!target) return;
    const { action, symbol, order, bot } = target.dataset;
    let r = null;
    if (action === "close") r = await request("POST", "/api/close", { symbol, botId: bot });
    else if (action === "partial") {
      const size = prompt(`Close how many contracts of ${bot}'s ${symbol}?`, "1");
      if (size === null) return;
      r = await request("POST", "/api/close", { symbol, botId: bot, quantity: Number(size) });
    } else if (action === "reverse") {
      if (!confirm(`Reverse the manual position in ${symbol} at market, with the ticket's stop and target?`)) return;
      r = await request("POST", "/api/reverse", { symbol, stop: number("t-stop"), target: number("t-target"), unit: $("t-unit").value });
    } else if (action === "cancel") r = await request("POST", "/api/cancel", { exchangeOrderId: Number(order) });
    else if (action === "modify") {
      const o = last.orders.find((x) => String(x.exchangeOrderId) === order);
      const price = prompt(`New ${o && o.stopPrice !== null ? "stop" : "limit"} price for order ${order}?`, String(o ? (o.stopPrice ?? o.limitPrice) : ""));
      if (price === null) return;
      const field = o && o.stopPrice !== null && o.stopPrice !== undefined ? "stopPrice" : "limitPrice";
      r = await request("POST", "/api/modify", { exchangeOrderId: Number(order), [field]: Number(price) });
    }
    if (r === null) return;
    if (r.ok) say(`${action}: ${r.data.status || (r.data.ok ? "done" : "sent")}`, true);
    else say(`${action} refused (${r.status}): ${describe(r)}`, false);
    await refresh();
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
    render(s);
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
      for (const id of ["t-side", "t-type", "t-qty", "t-price", "t-stop", "t-target", "t-unit", "symbol"]) $(id).addEventListener("input", preview);
      $("t-type").addEventListener("change", () => { $("t-price").disabled = $("t-type").value === "MARKET"; });
      $("ticket").addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = ticket();
        $("t-send").disabled = true;
        try {
          const r = await request("POST", "/api/order", body);
          if (r.ok) say(`order ${r.data.orderId}: ${r.data.status}`, true);
          else say(`order refused (${r.status}): ${describe(r)}`, false);
        } finally {
          $("t-send").disabled = false;
        }
        await refresh();
      });
      $("positions").addEventListener("click", act);
      $("orders").addEventListener("click", act);
      $("sltp").addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = { symbol: $("symbol").value, stopLoss: number("sltp-stop"), takeProfit: number("sltp-target") };
        const r = await request("POST", "/api/sltp", body);
        if (r.ok) say(`moved on ${body.symbol}: ${r.data.message || "done"}`, true);
        else say(`move refused (${r.status}): ${(r.data && (r.data.error || r.data.message)) || "no reason given"}`, false);
        await refresh();
      });
      await refresh();
      await preview();
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
