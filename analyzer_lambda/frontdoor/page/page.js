// The make serve page: start a run, watch the runs, open their reports. Talks to the API of
// the same origin with the key kept in this tab's sessionStorage; builds every element with
// textContent (never innerHTML), so nothing a page or a model wrote can run here.
"use strict";

const DEMO_URLS = [
  "http://acme.demo/pricing.html",
  "http://northwind.demo/pricing.html",
  "http://hanami.demo/pricing.html",
];
const POLL_MS = 2000;
const KEY = "rivalscope-api-key";

function key() { return sessionStorage.getItem(KEY) || ""; }

function takeKeyFromFragment() {
  // make serve prints http://127.0.0.1:PORT/#key=...: the fragment never reaches a server
  const match = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);
  }
}

async function api(method, path, body) {
  const options = { method, headers: { Authorization: "Bearer " + key() } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) showKeyForm();
  if (!response.ok) {
    const error = data.error || {};
    const details = (error.urls || []).map((u) => u.url + ": " + u.problem);
    throw new Error([error.message || response.statusText, ...details].join("\n"));
  }
  return data;
}

function showKeyForm() {
  document.getElementById("key-section").hidden = false;
}

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

function progressText(run) {
  const p = run.progress || {};
  if (run.status === "failed") return run.error || "failed";
  if (run.status === "crawling") {
    const shards = p.shards ? `, ${p.shards_done} of ${p.shards} crawl(s) done` : "";
    return `${p.chunks_stored} chunk(s) stored, ${p.pages_analysed} page(s) analysed${shards}`;
  }
  if (run.status === "analysing") {
    return `${p.pages_analysed} of ${p.pages ?? "?"} page(s) analysed`;
  }
  return `${p.pages ?? p.pages_analysed} page(s)`;
}

function runRow(run) {
  const row = el("tr", null, { "data-run": run.run, "data-status": run.status });
  row.append(el("td", run.run));
  const state = el("td");
  state.append(el("span", run.status, { class: "status status-" + run.status }));
  row.append(state, el("td", progressText(run), { class: "progress" }));
  row.append(el("td", (run.urls || []).join("\n"), { class: "urls" }));
  const report = el("td");
  if (run.report_url) {
    report.append(el("a", "open the report", {
      href: run.report_url, target: "_blank", rel: "noopener noreferrer", class: "report",
    }));
  }
  row.append(report);
  return row;
}

let polling = null;

async function refresh() {
  const error = document.getElementById("runs-error");
  try {
    const data = await api("GET", "/runs");
    const body = document.querySelector("#runs tbody");
    body.replaceChildren(...data.runs.map(runRow));
    document.getElementById("no-runs").hidden = data.runs.length > 0;
    document.getElementById("runs").dataset.loaded = "true";
    error.hidden = true;
  } catch (exc) {
    error.textContent = exc.message;
    error.hidden = false;
  }
}

function poll() {
  if (polling === null) polling = setInterval(refresh, POLL_MS);
  refresh();
}

async function start(event) {
  event.preventDefault();
  const error = document.getElementById("form-error");
  const button = document.getElementById("start");
  error.hidden = true;
  button.disabled = true;
  try {
    const urls = document.getElementById("urls").value.split(/\s+/).filter(Boolean);
    await api("POST", "/runs", {
      urls,
      prompt: document.getElementById("prompt").value,
      max_pages: Number(document.getElementById("max-pages").value),
    });
    await refresh();
  } catch (exc) {
    error.textContent = exc.message;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  takeKeyFromFragment();
  if (!key()) showKeyForm();
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById("key").value.trim());
    document.getElementById("key-section").hidden = true;
    poll();
  });
  document.getElementById("demo-urls").addEventListener("click", () => {
    document.getElementById("urls").value = DEMO_URLS.join("\n");
  });
  document.getElementById("run-form").addEventListener("submit", start);
  if (key()) poll();
});
