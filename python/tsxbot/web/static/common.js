// Shared by tsxbot's pages: the session (log in with a key, the CSRF token kept in memory only),
// requests that send the token, the live WebSocket (reconnecting), and safe DOM building.
"use strict";

// Every page's header (trading state, live badge, who is logged in) and login form, built here
// so the pages share one copy.
(() => {
  const build = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    node.append(...children);
    return node;
  };
  const header = build("header", {},
    build("h1", {}, "tsxbot ", build("span", { class: "muted" }, document.body.dataset.title || "")),
    build("div", { id: "state", class: "badge", "data-state": "UNKNOWN" }, "…"),
    build("div", { id: "why", class: "why" }),
    build("div", { class: "spacer" }),
    build("div", { id: "clock", class: "muted" }),
    build("div", { id: "live", class: "live", "data-live": "false" }, "offline"),
    build("div", { id: "who", class: "muted" }),
    build("button", { id: "logout", type: "button", hidden: "" }, "Log out"));
  const input = build("input", { id: "login-key", type: "password", autocomplete: "current-password", placeholder: "API key", required: "" });
  const login = build("section", { id: "login", class: "login", hidden: "" },
    build("form", { id: "login-form" },
      build("h2", {}, "Log in"),
      build("p", { class: "muted" }, "With your viewer, trader or admin key. The key is sent once; the page keeps only a session."),
      input,
      build("button", { type: "submit" }, "Log in"),
      build("p", { id: "login-error", class: "error", role: "alert" })));
  document.body.prepend(header, login);
})();

const tsx = (() => {
  let csrf = null;
  let role = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
    return node;
  }

  function money(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const sign = v < 0 ? "−" : "";
    return sign + "$" + Math.abs(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function signClass(node, v) {
    node.classList.toggle("pos", v > 0);
    node.classList.toggle("neg", v < 0);
  }

  function fillTable(table, rows, cells) {
    const body = table.tBodies[0];
    const empty = table.tHead.rows[0].cells.length;
    body.replaceChildren(
      ...(rows.length
        ? rows.map((r) => el("tr", {}, ...cells(r).map((c) => (c instanceof Node && c.tagName === "TD" ? c : el("td", {}, c)))))
        : [el("tr", {}, el("td", { colspan: empty, class: "muted" }, "none"))])
    );
  }

  async function request(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    return { status: response.status, ok: response.ok, data };
  }

  async function session() {
    const r = await request("GET", "/auth/session");
    if (!r.ok || !r.data.loggedIn) return false;
    csrf = r.data.csrfToken;
    role = r.data.role;
    return true;
  }

  // Shows the login form until a key logs in; then calls onReady(role).
  async function start(onReady) {
    const login = document.getElementById("login");
    const main = document.getElementById("main");
    const who = document.getElementById("who");
    const logout = document.getElementById("logout");
    const ready = () => {
      login.hidden = true;
      main.hidden = false;
      who.textContent = role;
      logout.hidden = false;
      onReady(role);
    };
    logout.addEventListener("click", async () => {
      await request("POST", "/auth/logout");
      location.reload();
    });
    if (await session()) return ready();
    login.hidden = false;
    document.getElementById("login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = document.getElementById("login-key");
      const r = await request("POST", "/auth/login", { key: input.value });
      input.value = "";
      if (!r.ok) {
        document.getElementById("login-error").textContent = (r.data && r.data.error) || `refused (${r.status})`;
        return;
      }
      csrf = r.data.csrfToken;
      role = r.data.role;
      ready();
    });
  }

  // A WebSocket to path that reconnects (1 s, doubling to 15 s) and shows its state in #live.
  function live(path, onMessage) {
    const badge = document.getElementById("live");
    let delay = 1000;
    const connect = () => {
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      ws.onopen = () => { delay = 1000; badge.dataset.live = "true"; badge.textContent = "live"; };
      ws.onmessage = (event) => onMessage(JSON.parse(event.data));
      ws.onclose = () => {
        badge.dataset.live = "false";
        badge.textContent = "reconnecting…";
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 15000);
      };
    };
    connect();
  }

  return { el, money, signClass, fillTable, request, start, live, get role() { return role; } };
})();
