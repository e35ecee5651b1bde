/* The roster: a week per view, in Europe/Oslo whatever the browser's zone. A lead adds,
 * removes and imports shifts; times typed are Oslo times, sent as such, and shown as the part
 * of each shift that falls on that day. */
import { api, cap, clearError, el, label, once, onSubmitOnce, showError } from "./common.js";

const DAYS = ["man", "tir", "ons", "tor", "fre", "lør", "søn"];
const ROLES = ["ward_doctor", "on_call"];
const canEdit = document.getElementById("roster").dataset.canEdit === "1";
const errorBox = document.getElementById("action-error");
const OSLO = "Europe/Oslo";

/* Oslo's calendar date of an instant, as "YYYY-MM-DD". */
function osloDate(d) {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: OSLO, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}
function hhmm(d) {
  return new Intl.DateTimeFormat("nb-NO", { timeZone: OSLO, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(d);
}
function addDays(ymd, n) {
  const d = new Date(ymd + "T12:00:00Z");
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
function mondayOf(ymd) {
  const dow = (new Date(ymd + "T12:00:00Z").getUTCDay() + 6) % 7;
  return addDays(ymd, -dow);
}

let monday = mondayOf(osloDate(new Date()));

function load() {
  clearError(errorBox);
  const days = [0, 1, 2, 3, 4, 5, 6].map((i) => addDays(monday, i));
  const short = (ymd) => Number(ymd.slice(8, 10)) + "." + Number(ymd.slice(5, 7)) + ".";
  document.getElementById("week-label").textContent = short(days[0]) + " – " + short(days[6]) + days[6].slice(0, 4);
  const head = document.getElementById("roster-head");
  head.textContent = "";
  const tr = el("tr");
  tr.appendChild(el("th", null, ""));
  days.forEach((ymd, i) => tr.appendChild(el("th", null, DAYS[i] + " " + short(ymd))));
  head.appendChild(tr);
  // The server reads times without an offset as Oslo time.
  const from = days[0] + "T00:00", to = addDays(monday, 7) + "T00:00";
  api("GET", "/api/rosters/?from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to)).then((data) => {
    const body = document.getElementById("roster-body");
    body.textContent = "";
    ROLES.forEach((role) => {
      const row = el("tr");
      row.appendChild(el("th", null, cap(label("roster_role", role))));
      days.forEach((ymd) => {
        const cell = el("td");
        data.results.forEach((s) => {
          if (s.role !== role) return;
          const a = new Date(s.starts_at), b = new Date(s.ends_at);
          const first = osloDate(a), last = osloDate(new Date(b.getTime() - 1));
          if (ymd < first || ymd > last) return;
          const startText = ymd === first ? hhmm(a) : "00:00";
          const endText = ymd === last ? hhmm(b) : "24:00";
          const span = startText === "00:00" && endText === "24:00" ? "hele døgnet" : startText + "–" + endText;
          const line = el("span", "shift", s.doctor.name + " " + span);
          line.title = s.doctor.name + ": " + a.toLocaleString("nb-NO", { timeZone: OSLO }) + " – " + b.toLocaleString("nb-NO", { timeZone: OSLO });
          if (canEdit) {
            const del = el("button", "secondary", "×");
            del.type = "button";
            del.title = "Fjern vakten";
            del.setAttribute("aria-label", "Fjern vakten til " + s.doctor.name);
            del.addEventListener("click", () => {
              if (!window.confirm("Fjerne vakten til " + s.doctor.name + "?")) return;
              once(del, () => api("DELETE", "/api/rosters/" + s.id + "/").then(load), errorBox);
            });
            line.appendChild(del);
          }
          cell.appendChild(line);
        });
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
  }).catch((error) => showError(errorBox, error));
}

document.getElementById("prev-week").addEventListener("click", () => { monday = addDays(monday, -7); load(); });
document.getElementById("next-week").addEventListener("click", () => { monday = addDays(monday, 7); load(); });
if (canEdit) {
  api("GET", "/api/doctors/").then((data) => {
    const select = document.getElementById("doctor-select");
    data.results.forEach((d) => select.appendChild(new Option(d.name, d.id)));
  }).catch((error) => showError(errorBox, error));
  const shiftForm = document.getElementById("shift-form");
  onSubmitOnce(shiftForm, () => {
    const f = new FormData(shiftForm);
    // datetime-local gives "YYYY-MM-DDTHH:MM" with no zone: sent as it is, read as Oslo time.
    return api("POST", "/api/rosters/", {
      role: f.get("role"), doctor: Number(f.get("doctor")),
      starts_at: f.get("starts_at"), ends_at: f.get("ends_at"),
    }).then(load);
  });
  const csvForm = document.getElementById("csv-form");
  onSubmitOnce(csvForm, () => api("POST", "/api/rosters/import/", { csv: csvForm.querySelector("textarea").value })
    .then(() => { csvForm.reset(); load(); }));
}
load();
