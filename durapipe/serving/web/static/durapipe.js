// durapipe's pages. Everything shown is read from the JSON API (same origin, the key travels in
// the HttpOnly cookie the page set); text goes in with textContent, never as HTML.
"use strict";

const body = document.body;
const ROOT = body.dataset.root || "";
const API = ROOT + "/api";
const POLL_MS = 1000;
const LIVE = new Set(["pending", "running"]);
const NUMERIC = new Set(["took", "size"]);  // right-aligned columns

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const response = await fetch(API + path, { credentials: "same-origin", ...(options || {}) });
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const message = (data && data.error) || (typeof data === "string" && data) || response.statusText;
    throw new Error(message);
  }
  return data;
}

function shown(state) { return state === "done" ? "ran" : (state || "waiting"); }
function badge(state) { const s = shown(state); return el("span", { class: `state state-${s}`, "data-state": s }, s.replace("_", " ")); }
function short(hash) { return hash ? hash.slice(0, 12) : ""; }
function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
function seconds(value) { return value === null || value === undefined ? "" : `${Number(value).toFixed(2)}s`; }
function took(start, end) {
  if (!start) return "";
  const ms = (end ? new Date(end) : new Date()) - new Date(start);
  return seconds(Math.max(0, ms) / 1000);
}
function bytes(n) {
  if (n === undefined || n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB"]; let i = 0; let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}
function main(...children) { const m = document.getElementById("main"); m.replaceChildren(...children.flat()); return m; }
function fail(error) { main(el("p", { class: "error", id: "page-error" }, String(error.message || error))); }

// ---------------------------------------------------------------------------------------------- runs

async function runsPage() {
  const query = new URLSearchParams(location.search);
  const pipeline = query.get("pipeline") || "";
  const status = query.get("status") || "";
  const offset = Number(query.get("offset") || 0);
  let pipelines = [];
  try { pipelines = (await api("/pipelines")).pipelines.map((p) => p.name); } catch (e) { /* the list still works */ }
  const pick = el("select", { name: "pipeline", id: "filter-pipeline" }, el("option", { value: "" }, "all pipelines"),
    pipelines.map((name) => el("option", { value: name, selected: name === pipeline }, name)));
  const state = el("select", { name: "status", id: "filter-status" }, el("option", { value: "" }, "any status"),
    ["running", "completed", "failed", "canceled"].map((s) => el("option", { value: s, selected: s === status }, s)));
  const rows = el("tbody", { id: "runs" });
  const more = el("p");
  main(el("h1", {}, "Runs"),
    el("form", { class: "filters", method: "get", action: `${ROOT}/` },
      el("label", {}, "pipeline", pick), el("label", {}, "status", state), el("button", { type: "submit" }, "Filter")),
    el("table", {}, el("thead", {}, el("tr", {}, ["run", "pipeline", "status", "started", "finished", "took"].map((h) => el("th", { class: NUMERIC.has(h) ? "num" : null }, h)))), rows),
    more);
  pick.addEventListener("change", () => pick.form.submit());
  state.addEventListener("change", () => state.form.submit());

  async function refresh() {
    const params = new URLSearchParams({ limit: "50", offset: String(offset) });
    if (pipeline) params.set("pipeline", pipeline);
    if (status) params.set("status", status);
    const page = await api(`/runs?${params}`);
    rows.replaceChildren(...page.runs.map((run) => el("tr", { "data-run-id": run.run_id },
      el("td", {}, el("a", { href: `${ROOT}/runs/${encodeURIComponent(run.run_id)}`, class: "mono" }, run.run_id)),
      el("td", {}, run.pipeline || ""), el("td", {}, badge(run.status)), el("td", {}, when(run.started)),
      el("td", {}, when(run.finished)), el("td", { class: "num" }, took(run.started, run.finished)))));
    if (!page.runs.length) rows.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No runs yet.")));
    more.replaceChildren();
    if (page.next_offset !== null) {
      const next = new URLSearchParams(query); next.set("offset", String(page.next_offset));
      more.append(el("a", { href: `?${next}` }, "older runs →"));
    }
    more.append(el("span", { class: "muted" }, ` ${page.total} run${page.total === 1 ? "" : "s"}`));
    if (page.runs.some((r) => LIVE.has(r.status))) setTimeout(() => refresh().catch(fail), 3 * POLL_MS);
  }
  await refresh();
}

// ---------------------------------------------------------------------------------------------- one run

async function runPage() {
  const runId = body.dataset.runId;
  const enc = encodeURIComponent(runId);
  const facts = el("dl", { class: "facts panel", id: "facts" });
  const graph = el("div", { class: "graph panel", id: "graph" }, el("span", { class: "muted" }, "Drawing…"));
  const steps = el("tbody", { id: "steps" });
  const extra = el("div", { id: "extra" });
  main(el("h1", {}, "Run ", el("span", { class: "mono" }, runId), " ", el("span", { id: "run-status" })),
    facts, el("h2", {}, "Graph"), graph, el("h2", {}, "Steps"),
    el("table", {}, el("thead", {}, el("tr", {}, ["step", "state", "took", "fingerprint", "partitions", ""].map((h) => el("th", { class: NUMERIC.has(h) ? "num" : null }, h)))), steps),
    extra);
  let drawn = "";

  async function draw(view) {
    const key = JSON.stringify(Object.entries(view.steps || {}).map(([n, s]) => [n, s.status]));
    if (key === drawn) return;
    drawn = key;
    try {
      const svg = await api(`/runs/${enc}/graph?format=svg`);
      const holder = el("div");
      holder.innerHTML = svg;  // SVG drawn by Graphviz on our server from escaped labels
      const picture = holder.querySelector("svg");
      graph.replaceChildren(picture);
    } catch (error) {
      graph.replaceChildren(el("p", { class: "muted", id: "graph-missing" }, error.message));
    }
    paint(view);
  }

  function paint(view) {
    for (const [name, step] of Object.entries(view.steps || {})) {
      const node = graph.querySelector(`g[id="step-${CSS.escape(name)}"]`);
      if (!node) continue;
      for (const c of [...node.classList]) if (c.startsWith("state-")) node.classList.remove(c);
      node.classList.add(`state-${shown(step.status)}`);
    }
  }

  function render(view) {
    document.getElementById("run-status").replaceChildren(badge(view.status));
    const trigger = view.trigger ? Object.entries(view.trigger).map(([k, v]) => `${k}: ${v}`).join(", ") : "";
    facts.replaceChildren(
      el("dt", {}, "pipeline"), el("dd", {}, el("a", { href: `${ROOT}/?pipeline=${encodeURIComponent(view.pipeline || "")}` }, view.pipeline || "")),
      el("dt", {}, "version"), el("dd", { class: "mono" }, short(view.pipeline_version)),
      el("dt", {}, "started"), el("dd", {}, when(view.started)),
      el("dt", {}, "finished"), el("dd", {}, when(view.finished)),
      el("dt", {}, "took"), el("dd", {}, took(view.started, view.finished)),
      el("dt", {}, "trigger"), el("dd", {}, trigger),
      ...(view.error ? [el("dt", {}, "error"), el("dd", { class: "error", id: "run-error" }, view.error)] : []));
    const open = new Set([...steps.querySelectorAll("tr.log-row")].map((r) => r.dataset.for));
    steps.replaceChildren();
    for (const [name, step] of Object.entries(view.steps || {})) {
      const failed = step.partitions && step.partitions.failed ? `, ${step.partitions.failed} failed` : "";
      const parts = step.partitions ? `${step.partitions.total} (${step.partitions.ran} ran, ${step.partitions.reused} reused${failed})` : "";
      const row = el("tr", { id: `step-row-${name}`, "data-step": name, "data-state": shown(step.status) },
        el("td", {}, name), el("td", {}, badge(step.status)),
        el("td", { class: "num" }, step.duration_s !== undefined && step.duration_s !== null ? seconds(step.duration_s) : took(step.started, step.finished)),
        el("td", { class: "mono" }, short(step.fingerprint)), el("td", {}, parts),
        el("td", {}, LIVE.has(view.status) || step.by_partition ? "" : el("button", { class: "link", onclick: () => showLog(name, null, row) }, "log")));
      steps.append(row);
      for (const [part, info] of Object.entries(step.by_partition || {})) {
        const sub = el("tr", { class: "partition", "data-partition": part },
          el("td", {}, part), el("td", {}, badge(info.status)), el("td", { class: "num" }, seconds(info.duration_s)),
          el("td", { class: "mono" }, short(info.fingerprint)),
          el("td", info.error ? { class: "error partition-error" } : {}, info.error || ""),
          el("td", {}, el("button", { class: "link", onclick: () => showLog(name, part, sub) }, "log")));
        steps.append(sub);
      }
      if (open.has(name)) showLog(name, null, row);
    }
    if (!Object.keys(view.steps || {}).length) steps.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "Planning…")));
    if (!LIVE.has(view.status)) renderExtra(view).catch(fail);
  }

  async function showLog(step, partition, row) {
    const id = `${step}${partition ? "/" + partition : ""}`;
    const existing = steps.querySelector(`tr.log-row[data-for="${CSS.escape(id)}"]`);
    if (existing) { existing.remove(); return; }
    const pre = el("pre", { class: "log" }, "loading…");
    row.after(el("tr", { class: "log-row", "data-for": id }, el("td", { colspan: 6 }, pre)));
    const query = partition ? `?partition=${encodeURIComponent(partition)}` : "";
    try { pre.textContent = await api(`/runs/${enc}/steps/${encodeURIComponent(step)}/log${query}`) || "(the step printed nothing)"; }
    catch (error) { pre.textContent = error.message; }
  }

  function download(name, ref) {
    return el("tr", {}, el("td", {}, name), el("td", {}, ref.kind), el("td", { class: "num" }, bytes(ref.size)),
      el("td", { class: "mono" }, short(ref.hash)),
      el("td", {}, el("a", { href: `${API}/runs/${enc}/artifacts/${ref.hash}`, download: "" }, "download")));
  }

  function table(headings, rows) {
    return el("table", {}, el("thead", {}, el("tr", {}, headings.map((h) => el("th", { class: NUMERIC.has(h) ? "num" : null }, h)))), el("tbody", {}, rows));
  }

  async function renderExtra(view) {
    const blocks = [];
    const params = Object.entries(view.params || {});
    blocks.push(el("h2", {}, "Parameters"), params.length
      ? table(["name", "value"], params.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "mono" }, JSON.stringify(v)))))
      : el("p", { class: "muted" }, "none"));
    const inputs = Object.entries(view.inputs || {});
    blocks.push(el("h2", {}, "Inputs"), inputs.length
      ? table(["input", "kind", "size", "version (content hash)", ""], inputs.map(([k, ref]) => download(k, ref)))
      : el("p", { class: "muted" }, "none"));
    const outputs = Object.entries(view.outputs || {});
    blocks.push(el("h2", {}, "Outputs"), outputs.length
      ? table(["output", "kind", "size", "content hash", ""], outputs.map(([k, ref]) => download(k, ref)))
      : el("p", { class: "muted" }, "none"));
    if (view.metrics && Object.keys(view.metrics).length) {
      blocks.push(el("h2", {}, "Metrics"), table(["metric", "value"], Object.entries(view.metrics).map(([k, v]) =>
        el("tr", {}, el("td", {}, k), el("td", { class: "num" }, typeof v === "number" ? v.toPrecision(6) : JSON.stringify(v))))));
    }
    if (view.registration) blocks.push(el("p", {}, `Model ${view.registration.model}: ${view.registration.decision}.`));
    else if (view.registered) blocks.push(el("p", {}, `Registered model ${view.registered.model} version ${view.registered.version}.`));
    blocks.push(el("h2", {}, "Fingerprints"));
    for (const name of Object.keys(view.steps || {})) {
      const holder = el("div", { class: "panel" }, "loading…");
      const details = el("details", { "data-step": name }, el("summary", {}, name), holder);
      details.addEventListener("toggle", async () => {
        if (!details.open || holder.dataset.loaded) return;
        holder.dataset.loaded = "1";
        try {
          const step = await api(`/runs/${enc}/steps/${encodeURIComponent(name)}`);
          holder.replaceChildren(componentsTable(step));
        } catch (error) { holder.textContent = error.message; }
      }, { once: false });
      blocks.push(details);
    }
    extra.replaceChildren(...blocks);
  }

  function componentsTable(step) {
    if (step.mapped) return el("p", { class: "muted" }, "A mapped step has one fingerprint per partition (see its partitions above).");
    if (!step.components) return el("p", { class: "muted" }, `No fingerprint components: the step ${shown(step.status).replace("_", " ")}.`);
    const rows = [];
    const walk = (prefix, value) => {
      if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v);
      } else {
        rows.push(el("tr", {}, el("td", { class: "mono" }, prefix), el("td", { class: "mono" }, typeof value === "string" ? value : JSON.stringify(value))));
      }
    };
    walk("", step.components);
    return el("table", { class: "components" }, el("tbody", {}, rows));
  }

  // The run view carries each mapped step's partition counts; its partitions come in pages, read once the run ends.
  async function withPartitions(view) {
    if (LIVE.has(view.status)) return view;
    for (const [name, step] of Object.entries(view.steps || {})) {
      if (!step.partitions) continue;
      const parts = {};
      for (let offset = 0; offset !== null && offset !== undefined;) {
        const page = await api(`/runs/${enc}/steps/${encodeURIComponent(name)}/partitions?limit=1000&offset=${offset}`);
        for (const part of page.partitions) parts[part.name] = part;
        offset = page.next_offset;
      }
      step.by_partition = parts;
    }
    return view;
  }

  async function poll() {
    let view;
    try { view = await withPartitions(await api(`/runs/${enc}`)); } catch (error) { fail(error); return; }
    render(view);
    await draw(view);
    if (LIVE.has(view.status)) setTimeout(poll, POLL_MS);
  }
  await poll();
}

// ---------------------------------------------------------------------------------------------- pipelines

async function pipelinesPage() {
  const { pipelines } = await api("/pipelines");
  const cards = el("div", { class: "cards" });
  main(el("h1", {}, "Pipelines"), cards);
  if (!pipelines.length) cards.append(el("p", { class: "muted" }, "This app serves no pipelines."));
  for (const p of pipelines) cards.append(pipelineCard(p));
}

function pipelineCard(p) {
  const fields = p.parameters.map((param) => {
    const id = `${p.name}-param-${param.name}`;
    const value = param.default === undefined ? "" : (typeof param.default === "string" ? param.default : JSON.stringify(param.default));
    const input = param.type === "bool"
      ? el("input", { type: "checkbox", id, name: param.name, checked: param.default === true })
      : el("input", { id, name: param.name, value, required: param.required,
          type: param.type === "int" || param.type === "float" ? "number" : "text", step: param.type === "float" ? "any" : null });
    input.dataset.type = param.type;
    return el("label", { for: id }, `${param.name} (${param.type}${param.required ? ", required" : ""})`, input);
  });
  const inputs = p.inputs.map((i) => {
    const id = `${p.name}-input-${i.name}`;
    const input = el("input", { id, name: i.name, required: !i.optional, placeholder: "blob name, e.g. incoming/data.csv" });
    input.dataset.input = "1";
    return el("label", { for: id }, `input ${i.name}${i.optional ? " (optional)" : ""}`, input);
  });
  const message = el("p", { class: "error", role: "alert" });
  const form = el("form", { "data-pipeline": p.name, id: `start-${p.name}` },
    el("div", { class: "form-grid" }, fields, inputs),
    el("button", { type: "submit", class: "primary" }, `Start a run of ${p.name}`), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    const request = { parameters: {}, inputs: {} };
    try {
      for (const field of form.querySelectorAll("input")) {
        if (field.dataset.input) { if (field.value) request.inputs[field.name] = field.value; continue; }
        const type = field.dataset.type;
        if (type === "bool") { request.parameters[field.name] = field.checked; continue; }
        if (field.value === "") continue;
        if (type === "int" || type === "float") request.parameters[field.name] = Number(field.value);
        else if (type === "str") request.parameters[field.name] = field.value;
        else {
          try { request.parameters[field.name] = JSON.parse(field.value); }
          catch (e) { throw new Error(`Parameter ${field.name} must be JSON (for example [1, 2] or {"a": 1}).`); }
        }
      }
      const started = await api(`/pipelines/${encodeURIComponent(p.name)}/runs`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) });
      location.assign(`${ROOT}/runs/${encodeURIComponent(started.run_id)}`);
    } catch (error) { message.textContent = error.message; }
  });
  const graph = el("div", { class: "graph" });
  api(`/pipelines/${encodeURIComponent(p.name)}/graph?format=svg`).then((svg) => {
    const holder = el("div"); holder.innerHTML = svg;  // drawn by Graphviz on our server
    const picture = holder.querySelector("svg");
    if (picture) graph.replaceChildren(picture);
  }).catch((error) => graph.replaceChildren(el("p", { class: "muted" }, error.message)));
  const params = p.parameters.length
    ? el("table", {}, el("thead", {}, el("tr", {}, ["parameter", "type", "default"].map((h) => el("th", { class: NUMERIC.has(h) ? "num" : null }, h)))),
        el("tbody", {}, p.parameters.map((x) => el("tr", {}, el("td", {}, x.name), el("td", {}, x.type),
          el("td", { class: "mono" }, x.default === undefined ? "(required)" : JSON.stringify(x.default))))))
    : el("p", { class: "muted" }, "no parameters");
  return el("section", { class: "card panel", "data-pipeline": p.name },
    el("h2", {}, p.name, " ", el("span", { class: "muted mono" }, short(p.version))),
    el("p", {}, el("a", { href: `${ROOT}/?pipeline=${encodeURIComponent(p.name)}` }, "its runs")),
    graph, params, form);
}

// ---------------------------------------------------------------------------------------------- start

const PAGES = { runs: runsPage, run: runPage, pipelines: pipelinesPage };
// The key came in the address once; the cookie carries it now, so keep it out of history and bookmarks.
if (new URLSearchParams(location.search).has("code")) {
  const clean = new URLSearchParams(location.search); clean.delete("code");
  history.replaceState(null, "", location.pathname + (clean.toString() ? `?${clean}` : ""));
}
(PAGES[body.dataset.page] || (() => fail(new Error("unknown page"))))().catch(fail);
