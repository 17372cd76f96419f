// winnow A/B: the page of the labeling app's A/B mode. Plain browser JavaScript, no build step;
// served by lib/labels/app/server.ts. The server decides which pair comes next and on which side
// each image goes; the page shows it and sends each key at once with the step it answers, so a
// retried request is never counted twice (the server answers 409 and the current state).
// window.__winnowAb exposes the state tests read.
"use strict";

const W = { ready: false, pending: 0, saved: 0, step: -1, current: null, rejected: [] };
globalThis.__winnowAb = W;
const TAB = Math.random().toString(36).slice(2, 10);
const $ = (id) => document.getElementById(id);
let S = null; // state from the server
const queue = []; // keys pressed while a choice was being saved
let busy = false;

function setSave(text, bad) {
  const s = $("save");
  s.textContent = text;
  s.className = bad ? "bad" : "";
}

const cache = new Map();
function img(url) {
  let el = cache.get(url);
  if (!el) {
    el = new Image();
    el.decoding = "async";
    el.src = url;
    el.alt = "";
    cache.set(url, el);
    if (cache.size > 20) cache.delete(cache.keys().next().value);
  }
  return el;
}

function render() {
  W.step = S.step;
  W.current = S.current;
  $("rater").textContent = `rater: ${S.rater}`;
  const pct = S.pairs ? (100 * S.decided) / S.pairs : 0;
  $("progress-fill").style.width = `${pct}%`;
  $("progress-text").textContent = `${S.decided} / ${S.pairs} pairs compared` +
    (S.repeats ? ` · ${S.repeats} repeated` : "");
  const c = S.current;
  $("ab-left").hidden = $("ab-right").hidden = !c;
  $("ab-done").hidden = !!c;
  const prompt = $("ab-prompt");
  prompt.replaceChildren();
  if (!c) {
    $("ab-done").textContent =
      `All ${S.pairs} pairs compared — thank you. Choices are in ab.csv; z undoes the last one.`;
    prompt.textContent = "";
    return;
  }
  prompt.append(c.prompt ? c.prompt : "(no prompt: images paired by file name)");
  if (c.repeat) {
    const r = document.createElement("span");
    r.className = "repeat";
    r.textContent = "(shown before: judge it afresh)";
    prompt.append(r);
  }
  for (const [id, side] of [["ab-left", c.left], ["ab-right", c.right]]) {
    const fig = $(id);
    fig.classList.remove("picked", "tied");
    const frame = fig.querySelector(".ab-frame");
    const el = img(side.url);
    if (frame.firstChild !== el) frame.replaceChildren(el);
  }
}

async function send(action) {
  const body = { action, step: S.step, pair: S.current ? S.current.pair : null, tab: TAB };
  for (let attempt = 0;; attempt++) {
    try {
      const r = await fetch("api/ab", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (r.ok || r.status === 409) {
        const next = await r.json();
        if (r.ok) W.saved++;
        else W.rejected.push(next.stale);
        return next;
      }
      if (r.status >= 400 && r.status < 500) {
        const msg = (await r.text()).trim();
        W.rejected.push(msg);
        setSave(`rejected: ${msg}`, true);
        return null;
      }
    } catch (_) {
      // server unreachable: keep the choice and retry
    }
    setSave("not saved, retrying…", true);
    await new Promise((res) => setTimeout(res, Math.min(3000, 200 * 2 ** attempt)));
  }
}

async function pump() {
  if (busy) return;
  busy = true;
  try {
    while (queue.length) {
      const action = queue.shift();
      if (action !== "undo" && !S.current) continue;
      if (action === "undo" && !S.canUndo) continue;
      if (action === "left" || action === "right") $(`ab-${action}`).classList.add("picked");
      if (action === "tie") $("ab-left").classList.add("tied"), $("ab-right").classList.add("tied");
      W.pending++;
      setSave("saving…");
      const next = await send(action);
      W.pending--;
      if (next) {
        S = next;
        setSave(`saved (${S.step} choices)`);
      }
      render();
    }
  } finally {
    busy = false;
  }
}

const KEYS = {
  ArrowLeft: "left",
  a: "left",
  1: "left",
  ArrowRight: "right",
  l: "right",
  2: "right",
  ArrowDown: "tie",
  t: "tie",
  "=": "tie",
  s: "skip",
  ArrowUp: "skip",
  z: "undo",
  Backspace: "undo",
};

function onKey(e) {
  if (!S) return;
  let action = KEYS[e.key];
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") action = "undo";
  else if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (!action) return;
  e.preventDefault();
  if (e.repeat) return; // a held key is one choice
  queue.push(action);
  pump();
}

async function start() {
  const r = await fetch("api/ab");
  S = await r.json();
  render();
  document.addEventListener("keydown", onKey);
  if (S.warnings.length) setSave(S.warnings.join(" · "));
  W.ready = true;
}

start().catch((e) => setSave(`cannot load: ${e}`, true));
