/* The inquiry page. What matters first is at the top: the family's newest words with any alarm
 * terms, the doctor's answer, and the red banner only while a doctor is needed and nobody has
 * it. Which buttons show is the server's `actions`; every write runs once per press. */
import {
  ME, api, cap, deadline, el, label, once, onSubmitOnce, when, who,
} from "./common.js";
import { connect } from "./live.js";
import { patientPicker } from "./patients.js";
import { startFollowUps } from "./followups.js";
import { startReplyBox } from "./replies.js";
import { startTriageForm } from "./triage_form.js";

const root = document.getElementById("inquiry");
const id = Number(root.dataset.inquiryId);
const presenceBox = document.getElementById("presence");
const others = {};
let current = null;

function show(node, visible) { if (node) node.hidden = !visible; }
function allowed(action) { return !!current && current.actions.indexOf(action) >= 0; }

function renderTop(inq) {
  const inbound = document.getElementById("latest-inbound");
  const latest = inq.latest_inbound;
  show(inbound, !!latest);
  if (latest) {
    inbound.className = "latest-inbound" + (latest.alarm_terms.length ? " alarm" : "");
    inbound.textContent = "";
    const head = el("p", "meta", cap(label("entry", latest.kind)) + " · " + when(latest.at));
    inbound.appendChild(head);
    if (latest.alarm_terms.length) {
      inbound.appendChild(el("p", "alarm-line", "Alarmord: " + latest.alarm_terms.map((t) => label("alarm_term", t)).join(", ") +
        (inq.grade ? "" : allowed("assess") ? ". Ikke vurdert ennå: gjør triage." : ". Ikke vurdert ennå: si fra til koordinator nå.")));
    }
    inbound.appendChild(el("p", "inbound-text", latest.text || "(talemelding uten tekst)"));
  }
  const answer = document.getElementById("doctor-answer");
  show(answer, !!inq.doctor_answer);
  if (inq.doctor_answer) {
    const a = inq.doctor_answer;
    answer.textContent = "";
    answer.appendChild(el("p", "meta", "Svar fra " + (a.doctor ? a.doctor.name : "lege") + " · " + when(a.at)));
    if (a.patient_must_come_in) answer.appendChild(el("p", "must-come-in", "Pasienten må komme inn."));
    answer.appendChild(el("p", "answer-text", a.text));
  }
  show(document.getElementById("red-banner"), inq.doctor_needed);
  show(document.getElementById("escalate-now"), inq.doctor_needed && allowed("escalate"));
}

function renderEscalation(inq) {
  const box = document.getElementById("escalation-box");
  const esc = inq.escalation;
  const waiting = esc && esc.state !== "answered";
  show(box, !!waiting);
  if (!waiting) return;
  box.className = "escalation-box" + (esc.overdue_alerted ? " late" : "");
  const due = esc.due ? deadline(esc.due) : null;
  box.textContent = "Venter på " + esc.doctor.name + " (" + label("target", esc.target) + "), " +
    label("escalation_state", esc.state) + (due ? ", frist " + due.text : "") +
    (esc.overdue_alerted ? ". Fristen er passert også hos vakthavende: ring legen." : "");
}

function renderTimeline(inq) {
  const list = document.getElementById("timeline");
  list.textContent = "";
  inq.entries.forEach((entry) => {
    const li = el("li", "entry " + entry.kind);
    const head = el("div", "entry-head");
    head.appendChild(el("strong", null, cap(label("entry", entry.kind))));
    head.appendChild(el("span", "at", " " + when(entry.at)));
    if (entry.author) head.appendChild(el("span", "author", " – " + entry.author.name));
    li.appendChild(head);
    if (entry.text) li.appendChild(el("p", "text", entry.text));
    if (entry.redacted) li.appendChild(el("p", "meta redacted", "Medisinsk innhold vises ikke for din rolle."));
    if (entry.kind === "voicemail" && entry.data && entry.data.recording_url) {
      const a = el("a", null, "Hør talemeldingen");
      a.href = entry.data.recording_url;
      a.rel = "noreferrer";
      li.appendChild(a);
    }
    if (entry.kind === "assessment" && entry.data) {
      li.appendChild(el("span", "pill " + entry.data.grade, label("grade", entry.data.grade)));
      if (entry.data.computed_grade && entry.data.computed_grade !== entry.data.grade) {
        li.appendChild(el("span", "tag", "Reglene ga " + label("grade", entry.data.computed_grade)));
      }
      const why = el("ul");
      (entry.data.reasons || []).forEach((r) => why.appendChild(el("li", null, r.text)));
      li.appendChild(why);
    }
    if (entry.kind === "status" && entry.data) {
      li.appendChild(el("p", "text", cap(label("status", entry.data.from)) + " → " + cap(label("status", entry.data.to))));
    }
    list.appendChild(li);
  });
}

function render(inq) {
  current = inq;
  document.getElementById("inq-title").textContent = who(inq);
  const meta = [
    cap(label("status", inq.status)), cap(label("channel", inq.channel)),
    inq.urgency.label, "Opprettet " + when(inq.created_at),
    inq.claimed_by ? "Hos " + inq.claimed_by.name : "Ikke tatt",
  ];
  if (inq.caller_phone) meta.push(inq.caller_phone);
  document.getElementById("inq-meta").textContent = meta.join(" · ");
  root.dataset.status = inq.status;
  renderTop(inq);
  renderEscalation(inq);
  show(document.getElementById("escalate"), allowed("escalate"));
  show(document.getElementById("link-patient"), allowed("link_patient"));
  show(document.getElementById("claim-btn"), allowed("claim"));
  show(document.getElementById("release-btn"), allowed("release"));
  show(document.getElementById("close-form"), allowed("close"));
  show(document.getElementById("triage"), allowed("assess"));
  show(document.getElementById("reply-form"), allowed("reply"));
  followUps.show(inq.patient);
  renderTimeline(inq);
}

function load() {
  return api("GET", "/api/inquiries/" + id + "/").then(render)
    .catch((error) => { const box = document.getElementById("action-error"); box.textContent = error.message; box.hidden = false; });
}

function renderPresence() { presenceBox.textContent = Object.values(others).join(" · "); }

const messages = startReplyBox(id, load, () => current && current.contact);
const followUps = startFollowUps();
const live = connect({
  onSnapshot() { load(); messages.load(); },
  onEvent(event) {
    if (event.type === "followup.status") { followUps.refresh(event.patient); return; }
    if (!event.inquiry || event.inquiry.id !== id) return;
    load();
    if (event.message) messages.load();
  },
  onConnected() { live.send({ type: "presence", inquiry: id, state: "viewing" }); },
  onPresence(p) {
    if (p.user.id === ME) return;
    if (p.inquiry === id && (p.state === "viewing" || p.state === "typing")) {
      others[p.connection] = p.user.name + (p.state === "typing" ? " skriver et svar …" : " ser på denne");
    } else {
      delete others[p.connection];
    }
    renderPresence();
  },
});

/* An unknown or ambiguous caller: say which child it is about, and maybe keep the number. */
const linkBox = document.getElementById("link-patient");
if (linkBox) {
  const form = document.getElementById("link-form");
  const picker = patientPicker(form.querySelector("[data-patient-picker]"));
  const extra = document.getElementById("save-number-fields");
  form.save_number.addEventListener("change", () => { extra.hidden = !form.save_number.checked; });
  onSubmitOnce(form, () => {
    const patient = picker.value();
    if (!patient) return Promise.reject(new Error("Velg en pasient fra listen."));
    const body = { patient };
    if (form.save_number.checked) {
      body.save_number_as = { name: form.contact_name.value.trim(), relation: form.relation.value.trim() };
    }
    return act("patient/", body).then(() => { picker.clear(); form.reset(); extra.hidden = true; });
  });
}

/* A write on the inquiry; the answer is the inquiry as it is now. */
function act(path, body) {
  return api("POST", "/api/inquiries/" + id + "/" + path, body).then((data) => (data.entries ? render(data) : load()));
}

startTriageForm(id, load);

const escalateForm = document.getElementById("escalate-form");
if (escalateForm) {
  onSubmitOnce(escalateForm, () => act("escalations/", {
    target: escalateForm.elements.target.value,
    question: escalateForm.elements.question.value,
  }).then(() => { escalateForm.reset(); document.getElementById("escalate").open = false; }));
  const now = document.getElementById("escalate-now");
  if (now) now.addEventListener("click", () => openEscalate("ward_doctor"));
}

function openEscalate(target) {
  const details = document.getElementById("escalate");
  if (!details || details.hidden) return;
  details.open = true;
  if (target) escalateForm.elements.target.value = target;
  escalateForm.elements.question.focus();
}

const claim = document.getElementById("claim-btn");
if (claim) claim.addEventListener("click", () => once(claim, () => act("claim/", {})));
const release = document.getElementById("release-btn");
if (release) release.addEventListener("click", () => once(release, () => act("release/", {})));

let typingTimer = null;
const noteForm = document.getElementById("note-form");
if (noteForm) {
  const area = noteForm.querySelector("textarea");
  area.addEventListener("input", () => {
    if (!typingTimer) live.send({ type: "presence", inquiry: id, state: "typing" });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typingTimer = null; live.send({ type: "presence", inquiry: id, state: "viewing" }); }, 4000);
  });
  onSubmitOnce(noteForm, () => act("notes/", { text: area.value }).then(() => {
    area.value = "";
    live.send({ type: "presence", inquiry: id, state: "viewing" });
  }));
}
const closeForm = document.getElementById("close-form");
if (closeForm) onSubmitOnce(closeForm, () => act("close/", { resolution: closeForm.querySelector("textarea").value }));

/* Keyboard: t takes the inquiry, s goes to the reply, e to the escalation, l to closing,
 * n to a note. Only when no field has the focus, so typing is never hijacked. */
const KEYS = {
  t: () => claim && !claim.hidden && claim.click(),
  s: () => { const f = document.getElementById("reply-form"); if (f && !f.hidden) { f.scrollIntoView({ block: "center" }); (f.querySelector("#reply-text:not([hidden])") || f.querySelector("select")).focus(); } },
  e: () => openEscalate(null),
  l: () => { if (closeForm && !closeForm.hidden) closeForm.querySelector("textarea").focus(); },
  n: () => { if (noteForm) noteForm.querySelector("textarea").focus(); },
};
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) return;
  const run = KEYS[e.key];
  if (run) { e.preventDefault(); run(); }
});
