/* Kontaktpunkt: what every page shares. Plain ES modules, no build step. Text is always set
 * with textContent, never parsed as HTML. Labels come from the server (web/labels.py), so the
 * words a user sees for a status or a kind are decided in one place. */

const labelsNode = document.getElementById("kp-labels");
export const LABELS = labelsNode ? JSON.parse(labelsNode.textContent) : {};
export const ME = Number(document.body.dataset.userId || 0);

/* The label of `key` in a group (status, channel, entry …); never the raw code when the
 * server has a word for it. */
export function label(group, key) {
  const words = LABELS[group] || {};
  return words[key] !== undefined ? words[key] : (key === null || key === undefined ? "" : String(key));
}

export function cap(text) { return text ? text.charAt(0).toUpperCase() + text.slice(1) : text; }

function cookie(name) {
  const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return m ? decodeURIComponent(m[1]) : "";
}

/* JSON over fetch. Every write carries the CSRF token (DELETE too); errors come back as the
 * API's {code, message, fields}. */
export function api(method, path, body, headers) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  Object.assign(opts.headers, headers || {});
  if (method !== "GET" && method !== "HEAD") opts.headers["X-CSRFToken"] = cookie("csrftoken");
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  return fetch(path, opts).then((res) => {
    // A session that has ended: the next page is the login, not a pile of errors.
    if (res.status === 401) toLogin();
    if (res.status === 204) return {};
    return res.json().catch(() => ({})).then((data) => {
      if (!res.ok) {
        throw (data && data.error) || { code: "http_" + res.status, message: "Noe gikk galt (" + res.status + ")." };
      }
      return data;
    });
  });
}

export function toLogin() {
  location.assign("/login/?next=" + encodeURIComponent(location.pathname));
}

export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export function waited(iso) {
  const minutes = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
  if (minutes < 60) return minutes + " min";
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return hours + " t " + (minutes % 60) + " min";
  return Math.floor(hours / 24) + " d";
}

/* A countdown to a deadline the server set. */
export function deadline(iso) {
  const minutes = Math.round((Date.parse(iso) - Date.now()) / 60000);
  if (minutes < 0) return { text: "over fristen med " + waited(iso), overdue: true };
  if (minutes < 60) return { text: "om " + minutes + " min", overdue: false };
  return { text: "om " + Math.floor(minutes / 60) + " t " + (minutes % 60) + " min", overdue: false };
}

/* Stored in UTC, shown in the section's time zone whatever the browser's is. */
export function when(iso) {
  return new Date(iso).toLocaleString("nb-NO", { dateStyle: "short", timeStyle: "short", timeZone: "Europe/Oslo" });
}

export function day(iso) {
  return new Date(iso).toLocaleDateString("nb-NO", { dateStyle: "long", timeZone: "Europe/Oslo" });
}

export function who(inq) {
  if (inq.patient_name) {
    const by = inq.contact_relation === "patient" ? "selv" : inq.contact_name;
    return inq.patient_name + (by ? " (" + by + ")" : "");
  }
  const caller = inq.caller_name || inq.caller_phone || "Ukjent";
  if (inq.identification === "ambiguous") return caller + " – flere mulige pasienter";
  return caller + " – ukjent avsender";
}

/* An error told where the user is looking: in the box beside the form or button that failed,
 * with the server's Norwegian message and the fields' own messages (never their codes). */
export function errorBoxFor(anchor) {
  const holder = anchor.closest("form, .actions, .esc-card, section, details") || anchor.parentNode;
  let box = holder.querySelector(":scope > .form-error");
  if (!box) {
    box = el("p", "error form-error");
    box.setAttribute("role", "alert");
    holder.appendChild(box);
  }
  return box;
}

export function showError(box, error) {
  const fields = (error && error.fields) || {};
  const detail = [];
  Object.keys(fields).forEach((k) => {
    [].concat(fields[k]).forEach((m) => {
      // Codes are for programs; only sentences reach people.
      if (typeof m === "string" && /\s/.test(m) && detail.indexOf(m) < 0) detail.push(m);
    });
  });
  box.textContent = ((error && error.message) || "Noe gikk galt.") + (detail.length ? " " + detail.join(" ") : "");
  box.hidden = false;
}

export function clearError(box) { if (box) { box.hidden = true; box.textContent = ""; } }

/* A fresh idempotency key: one per thing the user means to do once. */
export function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return "k-" + Date.now() + "-" + Math.random().toString(36).slice(2);
}

/* Run `work` once per press: the button is disabled while it is in flight, a second click
 * does nothing, and a failure is shown beside it. Returns a promise of work's result. */
export function once(button, work, box) {
  if (button.disabled || button.dataset.busy === "1") return Promise.resolve(null);
  button.dataset.busy = "1";
  button.disabled = true;
  const errors = box || errorBoxFor(button);
  clearError(errors);
  return Promise.resolve()
    .then(work)
    .catch((error) => { showError(errors, error); return null; })
    .finally(() => { button.dataset.busy = ""; button.disabled = false; });
}

/* A form whose submit runs `work` once per press (Enter or click alike). */
export function onSubmitOnce(form, work) {
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    once(button, () => work(form), errorBoxFor(button));
  });
}

/* The session ends after a while without requests (SESSION_IDLE_MINUTES). Someone working on a
 * page that only listens (the live queue) is not idle: a key or a click tells the server, at
 * most every few minutes. Someone who walked away is logged out, and their socket closes. */
const KEEPALIVE_MS = 4 * 60 * 1000;
let lastKeepalive = Date.now();
function keepAlive() {
  if (!ME || Date.now() - lastKeepalive < KEEPALIVE_MS) return;
  lastKeepalive = Date.now();
  api("GET", "/api/me/").catch(() => {});
}
["keydown", "pointerdown"].forEach((type) => document.addEventListener(type, keepAlive, { passive: true }));
