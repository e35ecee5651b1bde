/* Follow-up plans (Pakkeforløp hjem) of the inquiry's patient: what is planned and when, end a
 * plan, make one. "Lag plan" makes one plan however often it is pressed. */
import { api, day, el, errorBoxFor, label, newKey, once, onSubmitOnce, showError, when } from "./common.js";
import { withConsent } from "./replies.js";

export function startFollowUps() {
  const section = document.getElementById("followups");
  const list = document.getElementById("followup-list");
  const form = document.getElementById("followup-form");
  let patientId = null;
  let planKey = newKey();

  function renderPlans(data) {
    list.textContent = "";
    if (!data.results.length) list.appendChild(el("li", "meta", "Ingen oppfølgingsplan."));
    data.results.forEach((plan) => {
      const li = el("li", "plan" + (plan.cancelled_at ? " cancelled" : ""));
      li.dataset.planId = plan.id;
      const m = plan.municipality;
      li.appendChild(el("div", "meta", "Pakkeforløp hjem fra " + day(plan.start_date) + " · " +
        m.municipality + ": " + m.name + " " + m.phone +
        (plan.cancelled_at ? " · avsluttet " + when(plan.cancelled_at) : "")));
      const steps = el("ol", "plan-steps");
      plan.messages.forEach((msg) => {
        steps.appendChild(el("li", "plan-step status-" + msg.status,
          label("template", msg.template) + ": " + (msg.scheduled_for ? when(msg.scheduled_for) : "") +
          " · " + label("message_status", msg.status)));
      });
      li.appendChild(steps);
      const waiting = plan.messages.some((msg) => msg.status === "scheduled");
      if (form && !plan.cancelled_at && waiting) {
        const cancel = el("button", "secondary cancel-plan", "Avslutt planen");
        cancel.type = "button";
        cancel.addEventListener("click", () => {
          if (!window.confirm("Avslutte planen? Det som ikke er sendt, blir ikke sendt.")) return;
          once(cancel, () => api("POST", "/api/followups/" + plan.id + "/cancel/", {}).then(load));
        });
        li.appendChild(cancel);
      }
      list.appendChild(li);
    });
  }

  function load() {
    return api("GET", "/api/patients/" + patientId + "/followups/").then(renderPlans)
      .catch((error) => showError(errorBoxFor(list), error));
  }

  function fill(select, rows, text) {
    select.textContent = "";
    rows.forEach((row) => select.appendChild(new Option(text(row), String(row.id))));
  }

  function show(id, again) {
    if (!section || !id || (id === patientId && !again)) return;
    patientId = id;
    section.hidden = false;
    load();
    if (!form) return;
    api("GET", "/api/patients/" + id + "/contacts/").then((data) => {
      fill(form.elements.contact, data.results, (c) =>
        c.name + " (" + c.phone + ")" + (c.sms_consent ? "" : " – mangler samtykke til SMS"));
    }).catch((error) => showError(errorBoxFor(form), error));
    api("GET", "/api/municipal-coordinators/").then((data) => {
      fill(form.elements.municipality, data.results, (m) => m.municipality + " – " + m.name);
    }).catch((error) => showError(errorBoxFor(form), error));
  }

  if (form) {
    form.addEventListener("input", () => { planKey = newKey(); });
    onSubmitOnce(form, () => {
      const contact = Number(form.elements.contact.value);
      const key = planKey;
      return withConsent(() => api("POST", "/api/patients/" + patientId + "/followups/", {
        contact,
        start_date: form.elements.start_date.value,
        municipality: Number(form.elements.municipality.value),
      }, { "Idempotency-Key": key }), contact).then(() => {
        form.reset();
        planKey = newKey();
        document.getElementById("followup-new").open = false;
        show(patientId, true);  // the plans, and the contacts' consent as it is now
      });
    });
  }
  /* A plan message changed (sent, delivered, failed): the list follows without a reload. */
  function refresh(id) { if (id && id === patientId) load(); }

  return { show, refresh };
}
