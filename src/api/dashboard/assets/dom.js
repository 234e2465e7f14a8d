// Small DOM helpers. Every value is set as text or as a property, never parsed as HTML: what the emulator
// answers (names, reasons, expressions) cannot become markup or script.

/** `h("td", {className: "x"}, "text", childNode, …)`: an element with properties and children. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("aria-") || key === "role" || key === "for" || key === "scope") el.setAttribute(key, value);
    else el[key] = value;
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** `2026-12-01T00:25:55Z` as local date and time, for people. */
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

/** A value of any JSON type as text. */
export function text(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A status word as a coloured badge (`success`, `failure`, `Paused`, …). */
export function badge(value) {
  const word = String(value ?? "—");
  return h("span", { className: `badge badge-${word.toLowerCase()}` }, word);
}

/** A definition list of `[term, value]` pairs. */
export function dl(pairs, className = "props") {
  return h(
    "dl",
    { className },
    pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v instanceof Node ? v : text(v))]),
  );
}

/** Runs `tick` every `ms` while `active()` holds and the tab is visible; returns a function that stops it. */
export function every(ms, active, tick) {
  let timer = null;
  let running = false;
  const run = async () => {
    if (running || document.hidden || !active()) return;
    running = true;
    try {
      await tick();
    } finally {
      running = false;
    }
  };
  timer = setInterval(run, ms);
  return () => clearInterval(timer);
}

/** `const ticket = latest(); … await …; if (!ticket()) return;`: only the newest of overlapping loads applies. */
export function latestOnly() {
  let newest = 0;
  return () => {
    const mine = ++newest;
    return () => mine === newest;
  };
}
