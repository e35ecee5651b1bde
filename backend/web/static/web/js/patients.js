/* Finding a patient by name, phone number or date of birth (dd.mm.åååå), for forms that need
 * one: type, pick from what the server finds. */
import { api } from "./common.js";

export function patientPicker(root) {
  if (!root) return { value: () => null, clear() {} };
  const input = root.querySelector("input");
  const select = root.querySelector("select");
  let timer = null;

  function fill(results) {
    select.textContent = "";
    select.appendChild(new Option(results.length ? "Velg pasient …" : "Ingen treff", ""));
    results.forEach((p) => {
      const born = new Date(p.birth_date + "T12:00:00").toLocaleDateString("nb-NO");
      select.appendChild(new Option(p.first_name + " " + p.last_name + " (f. " + born + ")", String(p.id)));
    });
    select.hidden = false;
    if (results.length === 1) select.value = String(results[0].id);
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const term = input.value.trim();
    if (term.length < 2) { select.hidden = true; select.textContent = ""; return; }
    timer = setTimeout(() => {
      api("GET", "/api/patients/?page_size=20&search=" + encodeURIComponent(term))
        .then((data) => fill(data.results))
        .catch(() => fill([]));
    }, 250);
  });

  return {
    value: () => (select.value ? Number(select.value) : null),
    clear() { input.value = ""; select.textContent = ""; select.hidden = true; },
  };
}
