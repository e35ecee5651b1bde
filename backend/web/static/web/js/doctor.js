/* The doctor's page: open escalations with countdowns, one field to answer, a link to the
 * inquiry and the family's number to ring. */
import { ME, api, cap, deadline, el, errorBoxFor, label, once, onSubmitOnce, showError } from "./common.js";
import { connect } from "./live.js";

const list = document.getElementById("escalations");
const count = document.getElementById("esc-count");
let items = {};
const drafts = {};
const handOver = {};  // escalation id -> the colleague picked to take it over
let doctors = [];

// A doctor who cannot answer (in theatre, off sick, wrong speciality) sends it on to a
// colleague in the section; the deadlines keep running.
function reassignForm(esc) {
  const form = el("form", "esc-actions reassign");
  const pick = document.createElement("select");
  pick.name = "doctor";
  pick.appendChild(new Option("Velg lege …", ""));
  doctors.forEach((d) => { if (d.id !== ME) pick.appendChild(new Option(d.name, String(d.id))); });
  pick.value = handOver[esc.id] || "";
  pick.addEventListener("change", () => { handOver[esc.id] = pick.value; });
  const wrap = el("label", null, "Send videre til ");
  wrap.appendChild(pick);
  form.appendChild(wrap);
  const go = el("button", "secondary", "Send videre");
  go.type = "submit";
  form.appendChild(go);
  onSubmitOnce(form, () => {
    if (!pick.value) throw { message: "Velg legen som skal ta over." };
    return api("POST", "/api/escalations/" + esc.id + "/reassign/", { doctor: Number(pick.value) })
      .then((data) => { delete handOver[esc.id]; upsert(data); });
  });
  return form;
}

function card(esc) {
  const urgency = esc.urgency || { key: esc.grade || "none", label: "" };
  const c = el("article", "esc-card " + urgency.key);
  c.dataset.escalationId = esc.id;
  const patient = esc.context && esc.context.patient;
  const title = el("h2");
  const link = el("a", null, patient ? patient.name + " (f. " + patient.birth_date + ")" : "Ukjent pasient");
  link.href = "/henvendelser/" + esc.inquiry + "/";
  title.appendChild(link);
  c.appendChild(title);
  const due = esc.state === "open" ? esc.acknowledge_due_at : esc.answer_due_at;
  const d = deadline(due);
  const meta = [urgency.label, label("escalation_state", esc.state),
    (esc.state === "open" ? "se innen " : "svar innen ") + d.text.replace(/^om /, "")];
  if (patient && patient.diagnosis) meta.push(patient.diagnosis + (patient.protocol ? ", " + patient.protocol : ""));
  c.appendChild(el("p", "meta deadline" + (d.overdue ? " overdue" : ""), cap(meta.join(" · "))));
  if (esc.inquiry_phone) {
    const phone = el("p", "phone");
    const call = el("a", null, "Ring familien: " + esc.inquiry_phone);
    call.href = "tel:" + esc.inquiry_phone;
    phone.appendChild(call);
    if (esc.context && esc.context.caller) phone.appendChild(el("span", "meta", " (" + esc.context.caller + ")"));
    c.appendChild(phone);
  }
  c.appendChild(el("p", "question", esc.question));
  if (esc.triage && esc.triage.reasons && esc.triage.reasons.length) {
    const ul = el("ul");
    esc.triage.reasons.forEach((r) => ul.appendChild(el("li", null, r.text)));
    c.appendChild(el("strong", null, "Triage"));
    c.appendChild(ul);
  }
  if (esc.context && esc.context.recent && esc.context.recent.length) {
    const recent = el("ul");
    esc.context.recent.forEach((e) => { if (e.text) recent.appendChild(el("li", null, cap(label("entry", e.kind)) + ": " + e.text)); });
    c.appendChild(el("strong", null, "Siste i henvendelsen"));
    c.appendChild(recent);
  }
  const form = el("form", "stack");
  const area = document.createElement("textarea");
  area.name = "answer"; area.rows = 3; area.required = true;
  area.value = drafts[esc.id] || "";
  area.addEventListener("input", () => { drafts[esc.id] = area.value; });
  const answerLabel = el("label", null, "Svar til koordinator ");
  answerLabel.appendChild(area);
  form.appendChild(answerLabel);
  const come = el("label", null, " Pasienten må komme inn");
  const box = document.createElement("input");
  box.type = "checkbox"; box.name = "patient_must_come_in";
  come.insertBefore(box, come.firstChild);
  form.appendChild(come);
  const actions = el("div", "esc-actions");
  if (esc.state === "open") {
    const ack = el("button", "secondary acknowledge", "Jeg har sett den");
    ack.type = "button";
    ack.addEventListener("click", () => once(ack, () => api("POST", "/api/escalations/" + esc.id + "/acknowledge/", {}).then(upsert)));
    actions.appendChild(ack);
  }
  const send = el("button", null, "Send svar");
  send.type = "submit";
  actions.appendChild(send);
  form.appendChild(actions);
  onSubmitOnce(form, () => api("POST", "/api/escalations/" + esc.id + "/answer/", {
    answer: area.value, patient_must_come_in: box.checked,
  }).then((data) => { delete drafts[esc.id]; upsert(data); }));
  c.appendChild(form);
  if (doctors.length > 1) c.appendChild(reassignForm(esc));
  return c;
}

function render() {
  const open = Object.values(items)
    .filter((e) => e.state !== "answered" && e.doctor.id === ME)
    .sort((a, b) => Date.parse(a.acknowledge_due_at) - Date.parse(b.acknowledge_due_at));
  count.textContent = "(" + open.length + ")";
  // Redrawing must not take the answer field from a doctor who is typing in it.
  const active = document.activeElement;
  const typingIn = active && active.name === "answer" ? active.closest(".esc-card").dataset.escalationId : null;
  list.textContent = "";
  if (!open.length) { list.appendChild(el("p", "meta", "Ingen åpne eskaleringer.")); return; }
  open.forEach((esc) => list.appendChild(card(esc)));
  if (typingIn) {
    const again = list.querySelector('[data-escalation-id="' + typingIn + '"] textarea');
    if (again) { again.focus(); again.selectionStart = again.selectionEnd = again.value.length; }
  }
}

function upsert(esc) { items[esc.id] = esc; render(); }

// Events for other doctors' escalations do not come here, so gaps in seq are normal:
// every (re)connect gets a fresh snapshot instead.
connect({
  ignoreGaps: true,
  onSnapshot(_rows, _seq, data) {
    items = {};
    data.escalations.forEach((esc) => { items[esc.id] = esc; });
    render();
  },
  onEvent(event) { if (event.escalation) upsert(event.escalation); },
}, "/ws/doctor/");
api("GET", "/api/doctors/").then((data) => { doctors = data.results; render(); })
  .catch((error) => showError(errorBoxFor(list), error));
setInterval(render, 30000);
