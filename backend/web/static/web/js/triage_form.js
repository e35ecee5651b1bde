/* The triage form: built from the rules in force, in the order a nurse asks on the phone,
 * graded by the server as it is filled in. No grade shows until the rules' required questions
 * are answered, unless an answer already makes it red. */
import { api, el, label, onSubmitOnce } from "./common.js";

export function startTriageForm(id, reload) {
  const form = document.getElementById("triage-form");
  if (!form) return;
  const fields = document.getElementById("triage-fields");
  const resultBox = document.getElementById("triage-result");
  const save = form.querySelector("button[type=submit]");
  let rules = null;
  let timer = null;
  let labels = {};

  function control(name, text, spec) {
    const wrap = el("label", null, text + " ");
    let input;
    if (spec.type === "number" || spec.type === "int") {
      input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.placeholder = spec.unit || "";
    } else {
      input = document.createElement("select");
      input.appendChild(new Option("– ikke spurt –", ""));
      const names = spec.value_labels || {};
      Object.keys(spec.values).forEach((v) => input.appendChild(new Option(names[v] || v, v)));
    }
    input.dataset.kind = spec.type;
    input.name = name;
    if ((rules.required_before_grade || []).indexOf(name) >= 0) wrap.classList.add("required");
    wrap.appendChild(input);
    return wrap;
  }

  function build() {
    fields.textContent = "";
    const active = el("label", null, rules.context.on_active_treatment.label + " ");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "on_active_treatment";
    box.checked = rules.context.on_active_treatment["default"] !== false;
    box.dataset.kind = "checkbox";
    active.insertBefore(box, active.firstChild);
    fields.appendChild(active);
    const specs = {};
    rules.symptoms.forEach((s) => { specs[s.field] = s; labels[s.field] = s.label; });
    rules.ask_order.forEach((name) => fields.appendChild(control(name, specs[name].label, specs[name])));
    const q = el("label", null, "Hva spør de om? ");
    const select = document.createElement("select");
    select.name = "question_type";
    select.dataset.kind = "choice";
    select.appendChild(new Option("– symptomer / annet –", ""));
    Object.keys(rules.question_types).forEach((k) => select.appendChild(new Option(rules.question_types[k], k)));
    q.appendChild(select);
    fields.appendChild(q);
  }

  function inputs() {
    const out = {};
    fields.querySelectorAll("input, select").forEach((input) => {
      const kind = input.dataset.kind;
      if (kind === "checkbox") { out[input.name] = input.checked; return; }
      if (input.value === "") return;
      if (kind === "number" || kind === "int") {
        const n = Number(input.value.replace(",", "."));
        out[input.name] = isNaN(n) ? input.value : n;
      } else if (kind === "bool") {
        out[input.name] = input.value === "true";
      } else {
        out[input.name] = input.value;
      }
    });
    return out;
  }

  function show(result) {
    resultBox.textContent = "";
    resultBox.dataset.grade = result.show_grade ? result.grade : "";
    if (!result.show_grade) {
      resultBox.appendChild(el("p", "meta", "Ingen grad ennå. Spør først om: " +
        result.missing_required.map((f) => labels[f] || f).join(", ") + "."));
      save.disabled = !form.elements.override_grade.value;
      return;
    }
    save.disabled = false;
    const head = el("p");
    head.appendChild(el("span", "pill " + result.grade, label("grade", result.grade)));
    head.appendChild(el("strong", null, " " + (rules.action_labels[result.action] || result.action)));
    resultBox.appendChild(head);
    const list = el("ul");
    result.reasons.forEach((r) => list.appendChild(el("li", null, r.text)));
    resultBox.appendChild(list);
    if (!result.complete) {
      resultBox.appendChild(el("p", "meta", "Ikke spurt ennå: " + result.missing_required.map((f) => labels[f] || f).join(", ") + "."));
    }
  }

  function preview() {
    api("POST", "/api/triage/assess/", inputs()).then(show).catch((error) => {
      resultBox.textContent = error.message + " " + Object.keys(error.fields || {}).map((k) =>
        (labels[k] || k) + ": " + [].concat(error.fields[k]).join(" ")).join(" ");
      save.disabled = true;
    });
  }

  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(preview, 150); });
  form.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(preview, 150); });
  onSubmitOnce(form, () => {
    const body = inputs();
    const override = form.elements.override_grade.value;
    if (override) {
      body.override_grade = override;
      body.override_reason = form.elements.override_reason.value;
    }
    return api("POST", "/api/inquiries/" + id + "/assessments/", body).then(() => {
      document.getElementById("triage").open = false;
      reload();
    });
  });
  save.disabled = true;
  api("GET", "/api/triage/rules/").then((data) => { rules = data.data; build(); preview(); });
}
