/* Messages to the family: the list with live delivery status (and whether a secure link was
 * read or locked), and the reply box. The server previews every text, template or free, and
 * says whether it would be sent; the box counts nothing itself. One key per draft makes a
 * double click one SMS. */
import { api, cap, clearError, el, errorBoxFor, label, newKey, once, onSubmitOnce, showError, when } from "./common.js";

/* A message refused because no consent to SMS is recorded: the coordinator can record that
 * the family has consented (orally is enough) and send again, in one step. */
export function withConsent(send, contactId) {
  return send().catch((error) => {
    if (error.code !== "consent_missing" || !contactId) throw error;
    if (!window.confirm("Samtykke til SMS er ikke registrert for denne kontakten. " +
        "Har familien samtykket (muntlig er nok)? OK registrerer samtykket og sender.")) throw error;
    return api("PATCH", "/api/contacts/" + contactId + "/", { sms_consent: true }).then(send);
  });
}

export function startReplyBox(id, reload, contactOf) {
  const list = document.getElementById("messages");
  const form = document.getElementById("reply-form");
  const templates = {};

  function linkState(m) {
    const link = m.secure_link;
    if (!link) return null;
    const words = label("link_state", link.state);
    return "lenke " + words + (link.opened_at ? " " + when(link.opened_at) : "");
  }

  function renderMessages(data) {
    list.textContent = "";
    if (!data.results.length) list.appendChild(el("li", "meta", "Ingen meldinger sendt."));
    data.results.forEach((m) => {
      const li = el("li", "message status-" + m.status);
      li.dataset.messageId = m.id;
      const name = m.template ? (label("template", m.template.key) || m.template.key) : "Fritekst";
      const parts = [when(m.created_at), name];
      if (m.sensitive) parts.push("sikker lenke");
      parts.push(m.segments + " SMS");
      const head = el("div", "meta", parts.join(" · "));
      const status = el("span", "message-status", label("message_status", m.status));
      if (m.error_code) status.textContent += " (feilkode " + m.error_code + ")";
      if (m.scheduled_for && m.status === "scheduled") status.textContent += ", sendes " + when(m.scheduled_for);
      head.appendChild(document.createTextNode(" · "));
      head.appendChild(status);
      const state = linkState(m);
      if (state) head.appendChild(el("span", "link-state link-" + m.secure_link.state, " · " + state));
      li.appendChild(head);
      if (m.may_reissue) li.appendChild(reissueButton(m));
      li.appendChild(m.redacted
        ? el("p", "meta redacted", "Medisinsk innhold vises ikke for din rolle.")
        : el("p", "message-body", m.content));
      list.appendChild(li);
    });
  }

  /* A locked or expired secure link: the same content again behind a new link, once per press
   * (one key per message while the page is open). */
  const reissueKeys = {};
  function reissueButton(m) {
    const button = el("button", "secondary small", "Send ny lenke");
    button.type = "button";
    reissueKeys[m.id] = reissueKeys[m.id] || newKey();
    button.addEventListener("click", () => once(button, () =>
      api("POST", "/api/messages/" + m.id + "/reissue/", {}, { "Idempotency-Key": reissueKeys[m.id] }).then(load)));
    return button;
  }

  function load() {
    return api("GET", "/api/inquiries/" + id + "/messages/").then(renderMessages)
      .catch((error) => showError(errorBoxFor(list), error));
  }
  load();
  if (!form) return { load };

  const picker = document.getElementById("reply-template");
  const language = document.getElementById("reply-language");
  const vars = document.getElementById("reply-variables");
  const text = document.getElementById("reply-text");
  const textLabel = document.getElementById("reply-text-label");
  const preview = document.getElementById("reply-preview");
  const counter = document.getElementById("reply-counter");
  const send = document.getElementById("reply-send");
  let timer = null;
  let draftKey = newKey();
  let sendable = false;

  function values() {
    const out = {};
    vars.querySelectorAll("input").forEach((input) => { out[input.name] = input.value; });
    return out;
  }

  function count(result) {
    sendable = !!result.sendable;
    const missing = result.missing && result.missing.length ? " · mangler: " + result.missing.join(", ") : "";
    const problems = (result.problems || []).map((p) => p.message).join(" ");
    if (!result.characters) counter.textContent = "";
    else counter.textContent = result.encoding + " · " + result.characters + " tegn · " + result.segments + " SMS" +
      (result.sensitive ? " · sendes som sikker lenke" : "") + missing;
    counter.dataset.segments = result.segments;
    const refusal = document.getElementById("reply-refusal");
    refusal.textContent = problems;
    refusal.hidden = !problems || !result.characters;
    send.disabled = !sendable;
  }

  function refresh() {
    clearTimeout(timer);
    draftKey = newKey();  // a changed text is a new message
    timer = setTimeout(() => {
      const key = picker.value;
      const request = key
        ? api("POST", "/api/templates/" + key + "/preview/", { language: language.value, variables: values() })
        : api("POST", "/api/messages/preview/", { text: text.value });
      request.then((result) => { preview.textContent = result.text; count(result); })
        .catch((error) => showError(errorBoxFor(send), error));
    }, 150);
  }

  function pick() {
    vars.textContent = "";
    const t = templates[picker.value];
    // With a template picked, the free text is not sent: it is not shown either.
    textLabel.hidden = !!t;
    if (t) {
      const version = t.languages[language.value] || t.languages.nb;
      (version ? version.variables : []).forEach((name) => {
        const wrap = el("label", null, cap(name.replace(/_/g, " ")) + " ");
        const input = el("input");
        input.name = name;
        input.addEventListener("input", refresh);
        wrap.appendChild(input);
        vars.appendChild(wrap);
      });
    }
    refresh();
  }

  api("GET", "/api/templates/").then((data) => {
    // Only what this user may send: the secretary gets the practical templates, no free text.
    data.results.filter((t) => t.may_send).forEach((t) => {
      templates[t.key] = t;
      picker.appendChild(new Option(t.name + (t.sensitive ? " (sensitiv)" : ""), t.key));
    });
    if (picker.value) pick();
  }).catch((error) => showError(errorBoxFor(send), error));
  picker.addEventListener("change", pick);
  language.addEventListener("change", pick);
  text.addEventListener("input", refresh);
  send.disabled = true;

  onSubmitOnce(form, () => {
    if (!sendable) return null;
    const body = picker.value
      ? { template: picker.value, language: language.value, variables: values() }
      : { text: text.value };
    const key = draftKey;
    return withConsent(() => api("POST", "/api/inquiries/" + id + "/replies/", body, { "Idempotency-Key": key }), contactOf())
      .then(() => {
        form.reset(); pick(); preview.textContent = ""; counter.textContent = "";
        clearError(errorBoxFor(send));
        load(); reload();
      });
  });
  return { load };
}
