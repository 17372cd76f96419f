// winnow label: the page. Plain browser JavaScript, no build step; served by lib/labels/app/server.ts.
// Every label change is sent at once (in order, retried until the server takes it); the server's
// answer is the stored label. window.__winnow exposes the state tests and the benchmark read.
"use strict";

const ERROR_KEYS = {
  f: "bad_face",
  h: "bad_hands",
  m: "missing_body_part",
  l: "extra_limbs",
  o: "merged_objects",
  t: "garbled_text",
  b: "blur",
  a: "artifact",
  p: "prompt_mismatch",
  x: "other",
};
const KEY_OF_ERROR = Object.fromEntries(Object.entries(ERROR_KEYS).map(([k, v]) => [v, k]));
const PAGE = 24; // face crops per grid page
const PREFETCH = 4; // images prefetched ahead
const TAB = Math.random().toString(36).slice(2, 10);

const W = {
  ready: false,
  pending: 0,
  saved: 0,
  rejected: [],
  switches: [],
  view: "images",
  current: () => current(),
};
globalThis.__winnow = W;

let D = null; // state from the server
let view = "images";
const pos = { images: 0, faces: 0, review: 0 };
let filter = false;
const undo = [];
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- labels and saving

const emptyImage = () => ({ usable: null, quality: null, errors: [] });
const emptyFace = () => ({ quality: null, notFace: false });
const imageDone = (l) => !!l && l.usable !== null && l.quality !== null;
const faceDone = (l) => !!l && (l.quality !== null || l.notFace);

function labelOf(kind, index) {
  const it = kind === "image" ? D.images[index] : D.faces[index];
  return it.label ?? (kind === "image" ? emptyImage() : emptyFace());
}

const pendingByKey = new Map();
let chain = Promise.resolve();

function setSave(text, bad) {
  const s = $("save");
  s.textContent = text;
  s.className = bad ? "bad" : "";
}

async function post(path, body) {
  for (let attempt = 0;; attempt++) {
    try {
      const r = await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (r.ok) return await r.json();
      if (r.status >= 400 && r.status < 500) {
        const msg = (await r.text()).trim();
        W.rejected.push(msg);
        setSave(`rejected: ${msg}`, true);
        return null;
      }
    } catch (_) {
      // server unreachable: keep the change and retry
    }
    setSave(`not saved (${W.pending} waiting), retrying…`, true);
    await new Promise((r) => setTimeout(r, Math.min(3000, 200 * 2 ** attempt)));
  }
}

/** Applies a patch locally at once and queues it for the server. */
function change(kind, index, patch, record = true) {
  const it = kind === "image" ? D.images[index] : D.faces[index];
  const before = structuredClone(labelOf(kind, index));
  const after = structuredClone(before);
  if ("usable" in patch) after.usable = patch.usable;
  if ("quality" in patch) after.quality = patch.quality;
  if ("errors" in patch) after.errors = [...patch.errors];
  if (patch.error) {
    after.errors = after.errors.filter((e) => e !== patch.error.type);
    if (patch.error.on) after.errors.push(patch.error.type);
    after.errors = D.errorTypes.filter((e) => after.errors.includes(e));
  }
  if ("notFace" in patch) after.notFace = patch.notFace;
  it.label = after;
  if (record) undo.push({ kind, index, before, view, pos: pos[view] });
  const key = it.key;
  pendingByKey.set(key, (pendingByKey.get(key) ?? 0) + 1);
  W.pending++;
  setSave(`saving…`);
  chain = chain.then(async () => {
    const res = await post("api/label", { type: kind, key, patch, tab: TAB });
    W.pending--;
    const left = pendingByKey.get(key) - 1;
    pendingByKey.set(key, left);
    if (res) {
      W.saved++;
      if (left === 0) it.label = res.label;
    }
    if (W.pending === 0 && res) setSave(`saved (${W.saved})`);
    render();
  });
  render();
}

function undoLast() {
  const u = undo.pop();
  if (!u) return;
  const patch = u.kind === "image"
    ? { usable: u.before.usable, quality: u.before.quality, errors: u.before.errors }
    : { quality: u.before.quality, notFace: u.before.notFace };
  if (u.view !== view) switchView(u.view);
  pos[view] = u.pos;
  change(u.kind, u.index, patch, false);
  show();
}

let cursorTimer = 0;
function saveCursor() {
  clearTimeout(cursorTimer);
  const v = view, key = cursorKey();
  cursorTimer = setTimeout(() => {
    if (key !== undefined) post("api/cursor", { view: v, key, tab: TAB });
  }, 250);
}

// ---------------------------------------------------------------- items of a view

function items(v = view) {
  if (v === "images") return D.images.map((_, i) => ({ kind: "image", index: i }));
  if (v === "faces") return D.faces.map((_, i) => ({ kind: "face", index: i }));
  return D.review.map((r, i) => ({ kind: r.kind, index: r.item, review: i }));
}

function done(it) {
  if (view === "review") {
    return it.kind === "image" ? imageDone(D.images[it.index].label) : faceDone(D.faces[it.index].label);
  }
  return it.kind === "image" ? imageDone(D.images[it.index].label) : faceDone(D.faces[it.index].label);
}

function current() {
  const list = items();
  const it = list[pos[view]];
  if (!it) return { view, index: pos[view] };
  const key = it.kind === "image" ? D.images[it.index].key : D.faces[it.index].key;
  return { view, pos: pos[view], kind: it.kind, index: it.index, key };
}

function cursorKey() {
  const c = current();
  return view === "review" ? String(pos.review) : c.key;
}

function step(dir) {
  const list = items();
  let p = pos[view];
  for (;;) {
    p += dir;
    if (p < 0 || p >= list.length) return false;
    if (!filter || !done(list[p])) break;
  }
  pos[view] = p;
  return true;
}

function firstOpen(v) {
  const list = items(v);
  const i = list.findIndex((it) =>
    it.kind === "image" ? !imageDone(D.images[it.index].label) : !faceDone(D.faces[it.index].label)
  );
  return i < 0 ? 0 : i;
}

// ---------------------------------------------------------------- images (prefetched, decoded)

const cache = new Map();
function getImg(url) {
  let c = cache.get(url);
  if (!c) {
    const el = new Image();
    el.decoding = "async";
    el.src = url;
    c = { el, ready: el.decode().then(() => true, () => false) };
    cache.set(url, c);
  }
  return c;
}

function prefetch() {
  const list = items();
  const keep = new Set();
  for (let d = -1; d <= PREFETCH; d++) {
    const it = list[pos[view] + d];
    if (!it) continue;
    const url = it.kind === "image" ? D.images[it.index].url : D.faces[it.index].url;
    keep.add(url);
    getImg(url);
  }
  if (cache.size > 40) { for (const u of cache.keys()) if (!keep.has(u) && cache.size > 30) cache.delete(u); }
}

// ---------------------------------------------------------------- rendering

let showSeq = 0;
let navStart = 0;

function show() {
  W.view = view;
  $("single").hidden = view === "faces";
  $("grid").hidden = view !== "faces";
  if (view === "faces") renderGrid();
  else showSingle();
  render();
  saveCursor();
}

async function showSingle() {
  const it = items()[pos[view]];
  const frame = $("frame");
  if (!it) {
    frame.querySelector("img")?.remove();
    return;
  }
  const url = it.kind === "image" ? D.images[it.index].url : D.faces[it.index].url;
  const seq = ++showSeq;
  const started = navStart;
  const c = getImg(url);
  prefetch();
  await c.ready;
  if (seq !== showSeq) return;
  const old = frame.querySelector("img");
  if (old !== c.el) {
    c.el.className = it.kind === "face" ? "crop" : "";
    if (old) frame.replaceChild(c.el, old);
    else frame.insertBefore(c.el, $("boxes"));
  }
  drawBoxes(it);
  if (started) {
    requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => W.switches.push({ ms: performance.now() - started, url });
      ch.port2.postMessage(0);
    });
  }
  navStart = 0;
}

function drawBoxes(it) {
  const svg = $("boxes");
  svg.replaceChildren();
  if (it.kind !== "image") return;
  const el = $("frame").querySelector("img");
  if (!el || !el.naturalWidth) return;
  svg.setAttribute("viewBox", `0 0 ${el.naturalWidth} ${el.naturalHeight}`);
  svg.setAttribute("preserveAspectRatio", "none");
  for (const f of D.faces) {
    if (f.image !== it.index) continue;
    const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    r.setAttribute("x", f.box.x);
    r.setAttribute("y", f.box.y);
    r.setAttribute("width", f.box.width);
    r.setAttribute("height", f.box.height);
    const l = f.label;
    const colour = !l || l.quality === null
      ? (l?.notFace ? "#888" : "#f1c40f")
      : l.quality <= 2
      ? "#e74c3c"
      : l.quality === 3
      ? "#e67e22"
      : "#2ecc71";
    r.setAttribute("stroke", colour);
    svg.appendChild(r);
  }
}

function chip(text, on, cls = "") {
  const s = document.createElement("span");
  s.className = `chip ${cls} ${on ? "on" : ""}`;
  s.textContent = text;
  return s;
}

function div(cls, ...children) {
  const d = document.createElement("div");
  d.className = cls;
  for (const c of children) d.append(c);
  return d;
}

function kbd(k) {
  const e = document.createElement("kbd");
  e.textContent = k;
  return e;
}

function fmtValues(v) {
  if (!v || (v.usable === undefined && v.quality === undefined)) return "no label";
  const parts = [];
  if (v.usable !== undefined) parts.push(`usable ${v.usable ? "yes" : "no"}`);
  if (v.quality !== undefined) parts.push(`quality ${v.quality}`);
  if (v.errors?.length) parts.push(v.errors.join(", "));
  return parts.join(" · ");
}

function renderPanel() {
  const panel = $("panel");
  const it = items()[pos[view]];
  panel.replaceChildren();
  if (!it) {
    panel.append(div("status", filter ? "Nothing unlabeled here." : "No items."));
    return;
  }
  const list = items();
  const label = labelOf(it.kind, it.index);
  const name = it.kind === "image"
    ? D.images[it.index].name
    : `face ${it.index + 1} of ${D.images[D.faces[it.index].image].name}`;
  const h = document.createElement("h2");
  h.textContent = `${pos[view] + 1} / ${list.length} — ${name}`;
  panel.append(h);
  if (view === "review") {
    const r = D.review[it.review];
    panel.append(
      div(
        "review",
        `A: ${fmtValues(r.a)}`,
        document.createElement("br"),
        `B: ${fmtValues(r.b)}`,
        document.createElement("br"),
        r.reasons.join("; "),
      ),
    );
  }
  if (it.kind === "image") {
    panel.append(
      div(
        "row",
        "usable ",
        kbd("y"),
        kbd("n"),
        " ",
        chip("yes", label.usable === "yes"),
        chip("no", label.usable === "no", "no"),
      ),
    );
    const q = div("row", "quality ", kbd("1–5"), " ");
    for (let i = 1; i <= 5; i++) q.append(chip(String(i), label.quality === i));
    panel.append(q);
    const errs = div("row", "errors (toggle)");
    for (const e of D.errorTypes) {
      errs.append(div(`err ${label.errors.includes(e) ? "on" : ""}`, e, kbd(KEY_OF_ERROR[e])));
    }
    panel.append(errs);
    const nf = D.faces.filter((f) => f.image === it.index).length;
    if (nf) panel.append(div("status", `${nf} detected face(s) outlined`));
  } else {
    const q = div("row", "face quality ", kbd("1–5"), " ");
    for (let i = 1; i <= 5; i++) q.append(chip(String(i), label.quality === i && !label.notFace));
    panel.append(q, div("row", "not a face ", kbd("0"), " ", chip("not a face", label.notFace, "no")));
  }
  panel.append(div("status", imageOrFaceDone(it) ? "✓ complete" : "incomplete"));
  panel.append(div("status", "→ / Enter next · ← previous · z undo · u unlabeled only · hover to zoom"));
}

const imageOrFaceDone = (it) =>
  it.kind === "image" ? imageDone(D.images[it.index].label) : faceDone(D.faces[it.index].label);

function renderGrid() {
  const grid = $("grid");
  const start = Math.floor(pos.faces / PAGE) * PAGE;
  const want = D.faces.slice(start, start + PAGE).map((f) => f.key).join("|");
  if (grid.dataset.page !== want) {
    grid.dataset.page = want;
    grid.replaceChildren();
    for (let i = start; i < Math.min(D.faces.length, start + PAGE); i++) {
      const cell = div("cell");
      cell.dataset.index = String(i);
      const img = getImg(D.faces[i].url).el.cloneNode();
      const badge = div("badge");
      cell.append(img, badge);
      grid.append(cell);
    }
    for (let i = start + PAGE; i < Math.min(D.faces.length, start + 2 * PAGE); i++) getImg(D.faces[i].url);
  }
  for (const cell of grid.children) {
    const i = Number(cell.dataset.index);
    const l = D.faces[i].label;
    cell.classList.toggle("sel", i === pos.faces);
    const badge = cell.querySelector(".badge");
    badge.textContent = l?.notFace ? "✕" : l?.quality ?? "";
    badge.className = `badge ${l?.notFace ? "qx" : l?.quality ? `q${l.quality}` : ""}`;
    badge.hidden = !faceDone(l);
  }
  grid.querySelector(".sel")?.scrollIntoView({ block: "nearest" });
}

function render() {
  if (!D) return;
  const list = items();
  const n = list.filter(imageOrFaceDone).length;
  $("progress-fill").style.width = `${list.length ? (100 * n) / list.length : 0}%`;
  $("progress-text").textContent = `${n} / ${list.length} labeled`;
  $("filter").textContent = filter ? "showing unlabeled only (u)" : "";
  const nav = $("views");
  nav.replaceChildren();
  const views = [["images", "i", "images"]];
  if (D.faces.length) views.push(["faces", "g", "faces"]);
  if (D.review.length) views.push(["review", "r", "review"]);
  for (const [v, k, name] of views) {
    const s = document.createElement("span");
    s.className = v === view ? "on" : "";
    s.textContent = `${name} (${k})`;
    nav.append(s);
  }
  if (view === "faces") renderGrid();
  else {
    renderPanel();
    const it = list[pos[view]];
    if (it) drawBoxes(it);
  }
}

function switchView(v) {
  if (v === "faces" && !D.faces.length) return;
  if (v === "review" && !D.review.length) return;
  view = v;
  history.replaceState(null, "", `#${v}`);
}

// ---------------------------------------------------------------- zoom lens

function setupLens() {
  const frame = $("frame"), lens = $("lens");
  const ZOOM = 3;
  frame.addEventListener("mousemove", (e) => {
    const img = frame.querySelector("img");
    if (!img) return;
    const r = img.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    if (x < 0 || y < 0 || x > r.width || y > r.height) return void (lens.hidden = true);
    lens.hidden = false;
    lens.style.left = `${e.clientX - 140}px`;
    lens.style.top = `${e.clientY - 140}px`;
    lens.style.backgroundImage = `url("${img.src}")`;
    lens.style.backgroundSize = `${r.width * ZOOM}px ${r.height * ZOOM}px`;
    lens.style.backgroundPosition = `${140 - x * ZOOM}px ${140 - y * ZOOM}px`;
  });
  frame.addEventListener("mouseleave", () => (lens.hidden = true));
}

// ---------------------------------------------------------------- keys

const HELP = [
  ["y / n", "usable yes / no"],
  ["1–5", "quality (faces: rate and go to the next)"],
  ...Object.entries(ERROR_KEYS).map(([k, e]) => [k, `toggle ${e}`]),
  ["0", "faces: not a face"],
  ["→ Enter Space / ←", "next / previous (faces: arrows move in the grid)"],
  ["PageDown / PageUp", "faces: next / previous page"],
  ["z or Ctrl+Z", "undo"],
  ["u", "unlabeled only on/off"],
  ["i / g / r", "views: images / faces / review"],
  ["?", "this help"],
];

function renderHelp() {
  const h = $("help");
  h.replaceChildren();
  for (const [k, d] of HELP) h.append(div("row", kbd(k), ` ${d}`));
}

function gridCols() {
  const cells = [...$("grid").children];
  if (!cells.length) return 1;
  const top = cells[0].offsetTop;
  const n = cells.filter((c) => c.offsetTop === top).length;
  return Math.max(1, n);
}

function onKey(e) {
  if (!D) return;
  const k = e.key;
  if ((e.ctrlKey || e.metaKey) && k.toLowerCase() === "z") {
    e.preventDefault();
    return undoLast();
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const it = items()[pos[view]];
  let handled = true;
  const nav = (dir) => {
    navStart = e.timeStamp || performance.now(); // when the key was pressed
    if (step(dir)) show();
    else navStart = 0;
  };
  if (k === "?") $("help").hidden = !$("help").hidden;
  else if (k === "z") undoLast();
  else if (k === "u") {
    filter = !filter;
    render();
  } else if (k === "i" || k === "g" || k === "r") {
    switchView(k === "i" ? "images" : k === "g" ? "faces" : "review");
    show();
  } else if (view === "faces") {
    const cols = gridCols();
    if (/^[1-5]$/.test(k)) {
      change("face", pos.faces, { quality: Number(k), notFace: false });
      nav(1);
    } else if (k === "0") {
      change("face", pos.faces, { notFace: true });
      nav(1);
    } else if (k === "ArrowRight" || k === "Enter" || k === " ") nav(1);
    else if (k === "ArrowLeft") nav(-1);
    else if (k === "ArrowDown") {
      pos.faces = Math.min(D.faces.length - 1, pos.faces + cols);
      show();
    } else if (k === "ArrowUp") {
      pos.faces = Math.max(0, pos.faces - cols);
      show();
    } else if (k === "PageDown") {
      pos.faces = Math.min(D.faces.length - 1, (Math.floor(pos.faces / PAGE) + 1) * PAGE);
      show();
    } else if (k === "PageUp") {
      pos.faces = Math.max(0, (Math.floor(pos.faces / PAGE) - 1) * PAGE);
      show();
    } else handled = false;
  } else if (k === "ArrowRight" || k === "Enter" || k === " ") nav(1);
  else if (k === "ArrowLeft" || k === "Backspace") nav(-1);
  else if (!it) handled = false;
  else if (it.kind === "image") {
    if (k === "y" || k === "n") change("image", it.index, { usable: k === "y" ? "yes" : "no" });
    else if (/^[1-5]$/.test(k)) change("image", it.index, { quality: Number(k) });
    else if (ERROR_KEYS[k]) {
      const type = ERROR_KEYS[k];
      change("image", it.index, { error: { type, on: !labelOf("image", it.index).errors.includes(type) } });
    } else handled = false;
  } else if (/^[1-5]$/.test(k)) change("face", it.index, { quality: Number(k), notFace: false });
  else if (k === "0") change("face", it.index, { notFace: true });
  else handled = false;
  if (handled) e.preventDefault();
}

// ---------------------------------------------------------------- start

async function start() {
  const r = await fetch("api/state");
  D = await r.json();
  $("rater").textContent = `rater: ${D.rater}`;
  const find = (list, key) => list.findIndex((x) => x.key === key);
  const c = D.cursors;
  pos.images = c.images !== undefined && find(D.images, c.images) >= 0
    ? find(D.images, c.images)
    : firstOpen("images");
  pos.faces = c.faces !== undefined && find(D.faces, c.faces) >= 0
    ? find(D.faces, c.faces)
    : firstOpen("faces");
  pos.review = c.review !== undefined && Number(c.review) < D.review.length
    ? Number(c.review)
    : firstOpen("review");
  const hash = location.hash.slice(1);
  if (hash === "faces" || hash === "review") switchView(hash);
  renderHelp();
  setupLens();
  document.addEventListener("keydown", onKey);
  show();
  if (D.warnings.length) setSave(D.warnings.join(" · "));
  W.ready = true;
}

start().catch((e) => {
  setSave(`cannot load: ${e}`, true);
});
