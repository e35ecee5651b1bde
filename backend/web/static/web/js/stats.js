/* The statistics page: a period, the totals, and a bar per day stacked by grade (drawn as SVG
 * here: no chart library, no inline script). Every figure comes from GET /api/stats/. */
import { api, el, label } from "./common.js";

const form = document.getElementById("stats-form");
const totals = document.getElementById("stats-totals");
const chart = document.getElementById("stats-chart");
const csv = document.getElementById("stats-csv");
const errorBox = document.getElementById("stats-error");
const GRADES = ["red", "amber", "green", "none"];
const SVG = "http://www.w3.org/2000/svg";

/* The date as the user's calendar shows it (toISOString alone is UTC, a day off at night). */
function iso(date) { return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 10); }

function query() {
  const params = new URLSearchParams();
  ["from", "to", "section"].forEach((name) => {
    if (form[name] && form[name].value) params.set(name, form[name].value);
  });
  return params.toString();
}

function minutes(m) {
  return m.count ? m.median + " / " + m.p90 + " min (" + m.count + ")" : "–";
}

function showTotals(data) {
  const t = data.totals;
  const rows = [
    ["Henvendelser", t.inquiries],
    ["Eskalert til lege", t.escalated_inquiries + (t.escalation_rate === null ? "" : " (" + Math.round(t.escalation_rate * 100) + " %)")],
    ["Frister for lege passert", t.escalations_breached],
    ["Reservasjoner mot SMS", t.opt_outs],
    ["Første svar, median / p90", minutes(data.first_response_minutes)],
    ["Legens svar, median / p90", minutes(data.doctor_answer_minutes)],
  ];
  totals.textContent = "";
  rows.forEach(([name, value]) => { totals.appendChild(el("dt", null, name)); totals.appendChild(el("dd", null, String(value))); });
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, String(v)));
  return node;
}

function showChart(days) {
  chart.textContent = "";
  const most = Math.max(1, ...days.map((d) => GRADES.reduce((sum, g) => sum + (d.by_grade[g] || 0), 0)));
  const barWidth = 18, gap = 4, height = 160, width = days.length * (barWidth + gap);
  const picture = svg("svg", {
    viewBox: "0 0 " + width + " " + (height + 20), width: "100%", height: height + 20, preserveAspectRatio: "xMinYMax meet",
  });
  days.forEach((day, i) => {
    let y = height;
    GRADES.forEach((grade) => {
      const n = day.by_grade[grade] || 0;
      if (!n) return;
      const h = (n / most) * height;
      y -= h;
      const bar = svg("rect", { x: i * (barWidth + gap), y, width: barWidth, height: h, class: "bar " + grade });
      const title = svg("title", {});
      title.textContent = day.date + ": " + n + " " + (grade === "none" ? "ikke vurdert" : label("grade", grade));
      bar.appendChild(title);
      picture.appendChild(bar);
    });
    if (days.length <= 14 || i % 7 === 0) {
      const text = svg("text", { x: i * (barWidth + gap), y: height + 14, class: "axis" });
      text.textContent = day.date.slice(8, 10) + "." + day.date.slice(5, 7);
      picture.appendChild(text);
    }
  });
  chart.appendChild(picture);
  const legend = el("p", "legend");
  GRADES.forEach((g) => legend.appendChild(el("span", "key " + g, g === "none" ? "Ikke vurdert" : label("grade", g))));
  chart.appendChild(legend);
}

function load() {
  errorBox.hidden = true;
  csv.href = "/api/stats/csv/?" + query();
  return api("GET", "/api/stats/?" + query())
    .then((data) => { showTotals(data); showChart(data.per_day); })
    .catch((error) => { errorBox.textContent = error.message; errorBox.hidden = false; });
}

const today = new Date();
form.to.value = iso(today);
form.from.value = iso(new Date(today.getTime() - 29 * 86400000));
form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
load();
