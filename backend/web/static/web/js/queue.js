/* The coordinator's queue: live rows in the server's order (urgency rank, then longest
 * waiting), filters "Mine / Ufordelte / Alle", search by name or number, the newest text as a
 * preview, an unread count in the tab title and an optional sound on a new red. */
import {
  ME, api, cap, clearError, deadline, el, errorBoxFor, label, onSubmitOnce, once, waited, when, who,
} from "./common.js";
import { connect } from "./live.js";
import { patientPicker } from "./patients.js";

const rows = {};
const body = document.getElementById("queue-body");
const count = document.getElementById("queue-count");
const search = document.getElementById("queue-search");
const soundBox = document.getElementById("queue-sound");
const baseTitle = document.title;
// Each cell names its column, so a phone-size screen can show a row as a card (app.css).
const headings = Array.from(document.querySelectorAll(".queue-table thead th")).map((th) => th.textContent);
let presence = {};
let view = localStorage.getItem("kp.queue.view") || "all";
let unread = 0;
let redSeen = null; // ids already urgent, so only a new red sounds

function order(a, b) {
  // The rank is the server's (triage.urgency); the page only sorts by it.
  if (a.urgency.rank !== b.urgency.rank) return a.urgency.rank - b.urgency.rank;
  const ta = Date.parse(a.created_at), tb = Date.parse(b.created_at);
  return ta !== tb ? ta - tb : a.id - b.id;
}

function matches(inq) {
  if (view === "mine" && !(inq.claimed_by && inq.claimed_by.id === ME)) return false;
  if (view === "unassigned" && inq.claimed_by) return false;
  const term = (search.value || "").trim().toLowerCase();
  if (!term) return true;
  const digits = term.replace(/\D/g, "");
  const hay = [inq.patient_name, inq.contact_name, inq.caller_name, inq.summary, inq.latest_text]
    .filter(Boolean).join(" ").toLowerCase();
  if (term.split(/\s+/).every((w) => hay.indexOf(w) >= 0)) return true;
  const phone = (inq.caller_phone || "").replace(/\D/g, "");
  return digits.length >= 3 && phone.indexOf(digits) >= 0;
}

function render() {
  const open = Object.values(rows).filter((r) => r.status !== "closed");
  const list = open.filter(matches).sort(order);
  body.textContent = "";
  count.textContent = "(" + list.length + (list.length !== open.length ? " av " + open.length : "") + ")";
  document.querySelectorAll("[data-view]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.view === view)));
  if (!list.length) {
    const tr = el("tr", "empty");
    const td = el("td", null, open.length ? "Ingen henvendelser passer til filteret." : "Ingen åpne henvendelser.");
    td.colSpan = 8;
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  list.forEach((inq) => {
    const tr = el("tr", "row grade-" + inq.urgency.key);
    tr.dataset.inquiryId = inq.id;
    const grade = el("td", "grade");
    grade.appendChild(el("span", "pill " + inq.urgency.key, inq.urgency.label));
    if (inq.alarm && inq.grade) grade.appendChild(el("span", "tag alarm", "Ny alarm"));
    if (inq.alarm_terms && inq.alarm_terms.length) {
      grade.title = "Alarmord: " + inq.alarm_terms.map((t) => label("alarm_term", t)).join(", ");
    }
    tr.appendChild(grade);
    tr.appendChild(el("td", "waited", waited(inq.created_at)));
    const due = inq.deadline_at ? deadline(inq.deadline_at) : null;
    tr.appendChild(el("td", "deadline" + (due && due.overdue ? " overdue" : ""), due ? due.text : ""));
    tr.appendChild(el("td", "channel", cap(label("channel", inq.channel))));
    const whoCell = el("td", "who");
    const link = el("a", null, who(inq));
    link.href = "/henvendelser/" + inq.id + "/";
    whoCell.appendChild(link);
    if (inq.needs_callback) whoCell.appendChild(el("span", "tag callback", "Ring tilbake"));
    tr.appendChild(whoCell);
    const summary = el("td", "summary");
    if (inq.latest_text) summary.appendChild(el("span", "preview-line", "«" + inq.latest_text + "»"));
    else summary.textContent = inq.summary || "";
    tr.appendChild(summary);
    const statusCell = el("td", "status", cap(label("status", inq.status)));
    const esc = inq.escalation;
    if (esc && esc.state !== "answered") {
      const escDue = esc.due ? deadline(esc.due) : null;
      statusCell.appendChild(el("div", "deadline" + ((escDue && escDue.overdue) || esc.overdue_alerted ? " overdue" : ""),
        esc.doctor.name + ", " + label("escalation_state", esc.state) + (escDue ? ", " + escDue.text : "")));
    }
    if (esc && esc.state === "answered" && inq.status === "in_progress") {
      statusCell.appendChild(el("span", "tag presence", "Svar fra lege"));
    }
    tr.appendChild(statusCell);
    const holder = el("td", "holder", inq.claimed_by ? inq.claimed_by.name : "");
    const seen = presence[inq.id];
    if (seen && seen.length) holder.appendChild(el("span", "tag presence", seen.join(", ")));
    tr.appendChild(holder);
    Array.from(tr.children).forEach((td, i) => { td.dataset.label = headings[i]; });
    body.appendChild(tr);
  });
}

function beep() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const osc = ctx.createOscillator();
    osc.frequency.value = 880;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.25);
  } catch (e) { /* no sound is better than an error */ }
}

function noticeUrgent() {
  const urgentNow = new Set(Object.values(rows).filter((r) => r.status !== "closed" && r.urgency.rank === 0).map((r) => r.id));
  if (redSeen !== null && soundBox && soundBox.checked) {
    for (const id of urgentNow) if (!redSeen.has(id)) { beep(); break; }
  }
  redSeen = urgentNow;
}

function showTitle() {
  document.title = (unread ? "(" + unread + ") " : "") + baseTitle;
}

document.addEventListener("visibilitychange", () => { if (!document.hidden) { unread = 0; showTitle(); } });

/* Texts the inbox set aside after failing to put them on an inquiry: a family's words, shown
 * above the queue to those who may take them in. Fetched when the socket (re)connects and when
 * the server says the list changed, never on a timer (a timer would keep the session alive). */
const setAside = document.getElementById("set-aside");

function loadSetAside() {
  if (!setAside) return;
  const section = document.body.dataset.section;
  api("GET", "/api/inbox/set-aside/" + (section ? "?section=" + encodeURIComponent(section) : ""))
    .then((page) => showSetAside(page.results || [], page.count || 0))
    .catch((error) => showSetAsideError(error));
}

function showSetAside(texts, total) {
  const list = setAside.querySelector(".set-aside-list");
  list.textContent = "";
  setAside.querySelector(".count").textContent = "(" + total + ")";
  setAside.hidden = !texts.length;
  texts.forEach((text) => {
    const item = el("li", "set-aside-text");
    item.dataset.textId = text.id;
    item.appendChild(el("div", "meta", "Mottatt " + when(text.received_at) + " fra " + (text.from_phone || "ukjent nummer")));
    item.appendChild(el("p", "text", text.body || (text.num_media ? "(bilde uten tekst)" : "(tom melding)")));
    const actions = el("div", "actions");
    const button = el("button", null, "Legg i køen");
    button.type = "button";
    button.addEventListener("click", () => once(button, () =>
      api("POST", "/api/inbox/set-aside/" + text.id + "/take-in/", {}).then(() => {
        item.remove();
        loadSetAside();
      })));
    actions.appendChild(button);
    item.appendChild(actions);
    list.appendChild(item);
  });
}

function showSetAsideError(error) {
  const list = setAside.querySelector(".set-aside-list");
  list.textContent = "";
  list.appendChild(el("li", "error", "Fikk ikke hentet meldingene som ikke kom inn i køen: " + ((error && error.message) || "ukjent feil") + " Last siden på nytt."));
  setAside.hidden = false;
}

const live = connect({
  onSnapshot(list) {
    Object.keys(rows).forEach((k) => delete rows[k]);
    list.forEach((inq) => { rows[inq.id] = inq; });
    noticeUrgent();
    render();
    loadSetAside();
  },
  onNotice() { loadSetAside(); },
  onEvent(event) {
    if (!event.inquiry) return;
    const before = rows[event.inquiry.id];
    rows[event.inquiry.id] = event.inquiry;
    const newWords = event.inquiry.latest_text && (!before || before.latest_text !== event.inquiry.latest_text);
    if (document.hidden && (event.type === "inquiry.created" || newWords)) { unread += 1; showTitle(); }
    noticeUrgent();
    render();
  },
  onPresence(p) {
    const names = {};
    Object.keys(presence).forEach((id) => { names[id] = presence[id].filter((n) => !n.startsWith(p.user.name + " ")); });
    if (p.inquiry && p.state !== "gone" && p.state !== "idle") {
      names[p.inquiry] = (names[p.inquiry] || []).concat([p.user.name + (p.state === "typing" ? " skriver" : " ser på")]);
    }
    presence = names;
    render();
  },
});
setInterval(render, 30000);

document.querySelectorAll("[data-view]").forEach((button) => {
  button.addEventListener("click", () => { view = button.dataset.view; localStorage.setItem("kp.queue.view", view); render(); });
});
search.addEventListener("input", render);
if (soundBox) {
  soundBox.checked = localStorage.getItem("kp.queue.sound") === "1";
  soundBox.addEventListener("change", () => localStorage.setItem("kp.queue.sound", soundBox.checked ? "1" : "0"));
}
document.addEventListener("keydown", (e) => {
  if (e.key === "/" && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) { e.preventDefault(); search.focus(); }
});

const form = document.getElementById("log-form");
if (form) {
  const picker = patientPicker(form.querySelector("[data-patient-picker]"));
  onSubmitOnce(form, () => {
    const data = {};
    new FormData(form).forEach((v, k) => { if (v !== "" && k !== "patient_search" && k !== "patient_choice") data[k] = v; });
    if (picker.value()) data.patient = picker.value();
    else if (document.body.dataset.section) data.section = Number(document.body.dataset.section);
    return api("POST", "/api/inquiries/", data).then(() => {
      form.reset();
      picker.clear();
      clearError(errorBoxFor(form.querySelector("button[type=submit]")));
      document.getElementById("log-inquiry").open = false;
    });
  });
}
export { live };

/* Someone in several sections watches one queue at a time, named in the address. */
const sectionPicker = document.getElementById("section-picker");
if (sectionPicker) {
  sectionPicker.addEventListener("change", () => {
    location.assign(location.pathname + "?section=" + encodeURIComponent(sectionPicker.value));
  });
}
