/* Kontaktpunkt: the queue and inquiry pages. Plain JavaScript, no build step.
 * Everything shown comes from the API or the ws/queue/ socket; text is always set with
 * textContent, never parsed as HTML. */
(function () {
  "use strict";

  var GRADE = { red: "Rød", amber: "Gul", green: "Grønn" };
  var STATUS = {
    new: "Ny", in_progress: "Under arbeid", awaiting_doctor: "Venter på lege",
    answered: "Besvart", closed: "Lukket"
  };
  var CHANNEL = { phone: "Telefon", sms: "SMS", web: "Nett", other: "Annet" };
  var ENTRY = {
    created: "Opprettet", sms_in: "SMS fra familien", sms_out: "SMS til familien",
    call_in: "Anrop", call_missed: "Ubesvart anrop", voicemail: "Talemelding",
    call_ended: "Samtale avsluttet", note: "Notat", claimed: "Tatt", released: "Gitt fra seg",
    status: "Status endret", closed: "Lukket", assessment: "Triage",
    escalated: "Eskalert til lege", escalation_ack: "Legen har sett", doctor_answer: "Svar fra lege",
    escalation_moved: "Sendt til annen lege", escalation_late: "Frist for lege passert"
  };
  var ESC_STATE = { open: "sendt, ikke sett", acknowledged: "sett av lege", answered: "besvart" };
  var TARGET = { ward_doctor: "postansvarlig", responsible_doctor: "pasientansvarlig", on_call: "vakthavende" };
  var RANK = { red: 0, amber: 1, green: 2 };

  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }

  function api(method, path, body, headers) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    Object.keys(headers || {}).forEach(function (k) { opts.headers[k] = headers[k]; });
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRFToken"] = cookie("csrftoken");
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var err = (data && data.error) || { code: "http_" + res.status, message: "Noe gikk galt." };
          throw err;
        }
        return data;
      });
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function waited(iso) {
    var minutes = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " t " + (minutes % 60) + " min";
    return Math.floor(hours / 24) + " d";
  }

  function deadline(iso) {
    var minutes = Math.round((Date.parse(iso) - Date.now()) / 60000);
    if (minutes < 0) return { text: "Over fristen " + waited(iso), overdue: true };
    if (minutes < 60) return { text: "om " + minutes + " min", overdue: false };
    return { text: "om " + Math.floor(minutes / 60) + " t " + (minutes % 60) + " min", overdue: false };
  }

  function when(iso) {
    // Stored in UTC, shown in the section's time zone whatever the browser's is.
    return new Date(iso).toLocaleString("nb-NO", {
      dateStyle: "short", timeStyle: "short", timeZone: "Europe/Oslo"
    });
  }

  function who(inq) {
    if (inq.patient_name) {
      var by = inq.contact_relation === "patient" ? "selv" : inq.contact_name;
      return inq.patient_name + (by ? " (" + by + ")" : "");
    }
    var caller = inq.caller_name || inq.caller_phone || "Ukjent";
    if (inq.identification === "ambiguous") return caller + " – flere mulige pasienter";
    return caller + " – ukjent avsender";
  }

  /* The live connection: snapshot, events in seq order, resync after a drop, a banner while
   * it is down. onSnapshot(rows, seq) and onEvent(event) are the page's. */
  function connect(handlers, path) {
    var banner = document.getElementById("banner");
    var lastSeq = null;
    var socket = null;
    var delay = 500;
    var pingTimer = null;

    function open() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + (path || "/ws/queue/"));
      socket.onopen = function () {
        delay = 500;
        pingTimer = setInterval(function () { send({ type: "ping" }); }, 25000);
      };
      socket.onmessage = function (msg) {
        var data = JSON.parse(msg.data);
        if (data.type === "snapshot") {
          // Connected (again): the snapshot is the whole truth as of its seq.
          banner.hidden = true;
          lastSeq = data.seq;
          handlers.onSnapshot(data.inquiries, data.seq, data);
          if (handlers.onConnected) handlers.onConnected();
          return;
        }
        if (data.type === "presence") { if (handlers.onPresence) handlers.onPresence(data); return; }
        if (handlers.ignoreGaps && data.type !== "error" && data.type !== "pong") {
          handlers.onEvent(data);
          return;
        }
        if (typeof data.seq === "number") {
          if (lastSeq !== null && data.seq <= lastSeq) return; // already applied
          if (lastSeq !== null && data.seq > lastSeq + 1) {
            send({ type: "resync", since: lastSeq });
            return;
          }
          lastSeq = data.seq;
          handlers.onEvent(data);
        }
      };
      socket.onclose = function () {
        clearInterval(pingTimer);
        banner.hidden = false;
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }

    function send(obj) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(obj));
    }

    open();
    return { send: send };
  }

  /* --- The queue page --- */

  function startQueuePage() {
    var rows = {};
    var body = document.getElementById("queue-body");
    var count = document.getElementById("queue-count");
    var presence = {};

    function order(a, b) {
      var ra = a.grade ? RANK[a.grade] : (a.alarm ? 0 : 3);
      var rb = b.grade ? RANK[b.grade] : (b.alarm ? 0 : 3);
      if (ra !== rb) return ra - rb;
      var ta = Date.parse(a.created_at), tb = Date.parse(b.created_at);
      return ta !== tb ? ta - tb : a.id - b.id;
    }

    function render() {
      var list = Object.keys(rows).map(function (k) { return rows[k]; })
        .filter(function (r) { return r.status !== "closed"; }).sort(order);
      body.textContent = "";
      count.textContent = "(" + list.length + ")";
      if (!list.length) {
        var tr = el("tr", "empty");
        var td = el("td", null, "Ingen åpne henvendelser.");
        td.colSpan = 8;
        tr.appendChild(td);
        body.appendChild(tr);
        return;
      }
      list.forEach(function (inq) {
        var tr = el("tr", "row grade-" + (inq.grade || (inq.alarm ? "alarm" : "none")));
        tr.dataset.inquiryId = inq.id;
        var grade = el("td", "grade");
        grade.appendChild(el("span", "pill " + (inq.grade || "none"),
          inq.grade ? GRADE[inq.grade] : (inq.alarm ? "Mulig rød" : "Ikke vurdert")));
        if (inq.alarm && inq.grade) grade.appendChild(el("span", "tag alarm", "Ny alarm"));
        if (inq.alarm_terms && inq.alarm_terms.length) grade.title = "Alarmord: " + inq.alarm_terms.join(", ");
        tr.appendChild(grade);
        tr.appendChild(el("td", "waited", waited(inq.created_at)));
        var due = inq.deadline_at ? deadline(inq.deadline_at) : null;
        tr.appendChild(el("td", "deadline" + (due && due.overdue ? " overdue" : ""), due ? due.text : ""));
        tr.appendChild(el("td", "channel", CHANNEL[inq.channel] || inq.channel));
        var whoCell = el("td", "who");
        var link = el("a", null, who(inq));
        link.href = "/henvendelser/" + inq.id + "/";
        whoCell.appendChild(link);
        if (inq.needs_callback) whoCell.appendChild(el("span", "tag callback", "Ring tilbake"));
        tr.appendChild(whoCell);
        tr.appendChild(el("td", "summary", inq.summary || ""));
        var statusCell = el("td", "status", STATUS[inq.status] || inq.status);
        if (inq.escalation && inq.escalation.state !== "answered") {
          var esc = inq.escalation;
          var escDue = esc.due ? deadline(esc.due) : null;
          statusCell.appendChild(el("div", "deadline" + ((escDue && escDue.overdue) || esc.overdue_alerted ? " overdue" : ""),
            esc.doctor.name + ", " + ESC_STATE[esc.state] + (escDue ? ", " + escDue.text : "")));
        }
        if (inq.escalation && inq.escalation.state === "answered" && inq.status === "in_progress") {
          statusCell.appendChild(el("span", "tag presence", "Svar fra lege"));
        }
        tr.appendChild(statusCell);
        var holder = el("td", "holder", inq.claimed_by ? inq.claimed_by.name : "");
        var seen = presence[inq.id];
        if (seen && seen.length) holder.appendChild(el("span", "tag presence", seen.join(", ")));
        tr.appendChild(holder);
        body.appendChild(tr);
      });
    }

    var live = connect({
      onSnapshot: function (list) {
        rows = {};
        list.forEach(function (inq) { rows[inq.id] = inq; });
        render();
      },
      onEvent: function (event) {
        if (event.inquiry) { rows[event.inquiry.id] = event.inquiry; render(); }
      },
      onPresence: function (p) {
        var names = {};
        Object.keys(presence).forEach(function (id) { names[id] = presence[id]; });
        Object.keys(names).forEach(function (id) {
          names[id] = names[id].filter(function (n) { return n !== p.user.name; });
        });
        if (p.inquiry && p.state !== "gone" && p.state !== "idle") {
          names[p.inquiry] = (names[p.inquiry] || []).concat(
            [p.user.name + (p.state === "typing" ? " skriver" : " ser på")]);
        }
        presence = names;
        render();
      }
    });
    setInterval(render, 30000);

    var form = document.getElementById("log-form");
    if (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var err = document.getElementById("log-error");
        var data = {};
        new FormData(form).forEach(function (v, k) { if (v !== "") data[k] = v; });
        api("POST", "/api/inquiries/", data).then(function () {
          form.reset();
          err.hidden = true;
          document.getElementById("log-inquiry").open = false;
        }).catch(function (error) {
          var fields = error.fields || {};
          var detail = Object.keys(fields).map(function (k) { return [].concat(fields[k]).join(" "); });
          err.textContent = error.message + (detail.length ? " " + detail.join(" ") : "");
          err.hidden = false;
        });
      });
    }
    return live;
  }

  /* --- The inquiry page --- */

  function startInquiryPage(id, myId) {
    var root = document.getElementById("inquiry");
    var errorBox = document.getElementById("action-error");
    var presenceBox = document.getElementById("presence");
    var others = {};
    var current = null;

    function showError(error) {
      errorBox.textContent = error.message || "Noe gikk galt.";
      errorBox.hidden = false;
    }

    function render(inq) {
      current = inq;
      document.getElementById("inq-title").textContent = who(inq);
      var meta = [
        STATUS[inq.status] || inq.status, CHANNEL[inq.channel] || inq.channel,
        inq.grade ? "Grad: " + GRADE[inq.grade] : "Ikke vurdert",
        "Opprettet " + when(inq.created_at),
        inq.claimed_by ? "Hos " + inq.claimed_by.name : "Ikke tatt"
      ];
      if (inq.caller_phone) meta.push(inq.caller_phone);
      document.getElementById("inq-meta").textContent = meta.join(" · ");
      root.dataset.status = inq.status;
      var waitingForDoctor = inq.escalation && inq.escalation.state !== "answered";
      var red = document.getElementById("red-banner");
      if (red) red.hidden = !(inq.grade === "red" && inq.status !== "closed" && !waitingForDoctor);
      var box = document.getElementById("escalation-box");
      if (box) {
        var esc = inq.escalation;
        box.hidden = !esc;
        box.className = "escalation-box" + (esc && esc.overdue_alerted ? " late" : "");
        if (esc) {
          var due = esc.due ? deadline(esc.due) : null;
          box.textContent = "Lege: " + esc.doctor.name + " (" + TARGET[esc.target] + "), " +
            ESC_STATE[esc.state] + (due ? ", frist " + due.text : "") +
            (esc.overdue_alerted ? ". Fristen er passert også hos vakthavende: ring legen." : "") +
            (esc.patient_must_come_in ? ". Pasienten må komme inn." : "");
        }
      }
      var escalateForm = document.getElementById("escalate");
      if (escalateForm) escalateForm.hidden = !!waitingForDoctor || inq.status === "closed";
      var claim = document.getElementById("claim-btn");
      var release = document.getElementById("release-btn");
      if (claim) claim.hidden = inq.status === "closed" || (inq.claimed_by && inq.claimed_by.id === myId);
      if (release) release.hidden = !(inq.claimed_by && inq.claimed_by.id === myId);
      var close = document.getElementById("close-form");
      if (close) close.hidden = inq.status === "closed";
      followUps.show(inq.patient);
      var list = document.getElementById("timeline");
      list.textContent = "";
      inq.entries.forEach(function (entry) {
        var li = el("li", "entry " + entry.kind);
        var head = el("div", "entry-head");
        head.appendChild(el("strong", null, ENTRY[entry.kind] || entry.kind));
        head.appendChild(el("span", "at", " " + when(entry.at)));
        if (entry.author) head.appendChild(el("span", "author", " – " + entry.author.name));
        li.appendChild(head);
        if (entry.text) li.appendChild(el("p", "text", entry.text));
        if (entry.kind === "voicemail" && entry.data && entry.data.recording_url) {
          var a = el("a", null, "Hør talemeldingen");
          a.href = entry.data.recording_url;
          a.rel = "noreferrer";
          li.appendChild(a);
        }
        if (entry.kind === "assessment" && entry.data) {
          li.appendChild(el("span", "pill " + entry.data.grade, GRADE[entry.data.grade]));
          if (entry.data.computed_grade !== entry.data.grade) {
            li.appendChild(el("span", "tag", "Reglene ga " + GRADE[entry.data.computed_grade]));
          }
          var why = el("ul");
          (entry.data.reasons || []).forEach(function (r) { why.appendChild(el("li", null, r.text)); });
          li.appendChild(why);
        }
        if (entry.kind === "status" && entry.data) {
          li.appendChild(el("p", "text", (STATUS[entry.data.from] || entry.data.from) + " → " +
            (STATUS[entry.data.to] || entry.data.to)));
        }
        list.appendChild(li);
      });
    }

    function load() {
      return api("GET", "/api/inquiries/" + id + "/").then(render).catch(showError);
    }

    function renderPresence() {
      var parts = Object.keys(others).map(function (k) { return others[k]; });
      presenceBox.textContent = parts.join(" · ");
    }

    var messages = startReplyBox(id, showError, function () { load(); },
      function () { return current && current.contact; });
    var followUps = startFollowUps(showError);
    var live = connect({
      onSnapshot: function () { load(); messages.load(); },
      onEvent: function (event) {
        if (!event.inquiry || event.inquiry.id !== id) return;
        load();
        if (event.message) messages.load();
      },
      onConnected: function () { live.send({ type: "presence", inquiry: id, state: "viewing" }); },
      onPresence: function (p) {
        if (p.user.id === myId) return;
        var key = p.connection;
        if (p.inquiry === id && (p.state === "viewing" || p.state === "typing")) {
          others[key] = p.user.name + (p.state === "typing" ? " skriver et svar …" : " ser på denne");
        } else {
          delete others[key];
        }
        renderPresence();
      }
    });

    function act(path, body) {
      errorBox.hidden = true;
      return api("POST", "/api/inquiries/" + id + "/" + path, body).then(function (data) {
        return data.entries ? render(data) : load();
      }).catch(showError);
    }

    startTriageForm(id, load, showError);

    var escalateForm = document.getElementById("escalate-form");
    if (escalateForm) {
      escalateForm.addEventListener("submit", function (e) {
        e.preventDefault();
        act("escalations/", {
          target: escalateForm.querySelector("[name=target]").value,
          question: escalateForm.querySelector("[name=question]").value
        }).then(function () {
          if (!errorBox.hidden) return;
          escalateForm.reset();
          document.getElementById("escalate").open = false;
        });
      });
      var now = document.getElementById("escalate-now");
      if (now) now.addEventListener("click", function () {
        var details = document.getElementById("escalate");
        details.open = true;
        escalateForm.querySelector("[name=target]").value = "ward_doctor";
        escalateForm.querySelector("[name=question]").focus();
      });
    }

    var claim = document.getElementById("claim-btn");
    if (claim) claim.addEventListener("click", function () { act("claim/", {}); });
    var release = document.getElementById("release-btn");
    if (release) release.addEventListener("click", function () { act("release/", {}); });

    var typingTimer = null;
    var noteForm = document.getElementById("note-form");
    if (noteForm) {
      var area = noteForm.querySelector("textarea");
      area.addEventListener("input", function () {
        if (!typingTimer) live.send({ type: "presence", inquiry: id, state: "typing" });
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () {
          typingTimer = null;
          live.send({ type: "presence", inquiry: id, state: "viewing" });
        }, 4000);
      });
      noteForm.addEventListener("submit", function (e) {
        e.preventDefault();
        act("notes/", { text: area.value }).then(function () {
          if (!errorBox.hidden) return;
          area.value = "";
          live.send({ type: "presence", inquiry: id, state: "viewing" });
        });
      });
    }
    var closeForm = document.getElementById("close-form");
    if (closeForm) {
      closeForm.addEventListener("submit", function (e) {
        e.preventDefault();
        act("close/", { resolution: closeForm.querySelector("textarea").value });
      });
    }
    return live;
  }

  /* --- Messages to the family: the list with live delivery status, and the reply box with
   * template picker, variables, preview and segment counter. --- */

  var MESSAGE_STATUS = {
    scheduled: "planlagt", queued: "i kø", sending: "sendes", sent: "sendt", delivered: "levert",
    undelivered: "ikke levert", failed: "feilet", cancelled: "avbrutt"
  };

  /* --- Follow-up plans (Pakkeforløp hjem) of the inquiry's patient: what is planned and when,
   * cancel, and make one. --- */

  var PLAN_STEP = {
    behovskartlegging_paaminnelse: "Påminnelse om behovskartlegging",
    behovskartlegging_3_mnd: "Behovskartlegging 3 måneder",
    behovskartlegging_12_mnd: "Behovskartlegging 12 måneder"
  };

  function day(iso) {
    return new Date(iso).toLocaleDateString("nb-NO", { dateStyle: "long", timeZone: "Europe/Oslo" });
  }

  function startFollowUps(showError) {
    var section = document.getElementById("followups");
    var list = document.getElementById("followup-list");
    var form = document.getElementById("followup-form");
    var patientId = null;

    function renderPlans(data) {
      list.textContent = "";
      if (!data.results.length) list.appendChild(el("li", "meta", "Ingen oppfølgingsplan."));
      data.results.forEach(function (plan) {
        var li = el("li", "plan" + (plan.cancelled_at ? " cancelled" : ""));
        li.dataset.planId = plan.id;
        var m = plan.municipality;
        li.appendChild(el("div", "meta", "Pakkeforløp hjem fra " + day(plan.start_date) + " · " +
          m.municipality + ": " + m.name + " " + m.phone +
          (plan.cancelled_at ? " · avsluttet " + when(plan.cancelled_at) : "")));
        var steps = el("ol", "plan-steps");
        plan.messages.forEach(function (msg) {
          var status = MESSAGE_STATUS[msg.status] || msg.status;
          steps.appendChild(el("li", "plan-step status-" + msg.status,
            (PLAN_STEP[msg.template] || msg.template) + ": " +
            (msg.scheduled_for ? when(msg.scheduled_for) : "") + " · " + status));
        });
        li.appendChild(steps);
        var waiting = plan.messages.some(function (msg) { return msg.status === "scheduled"; });
        if (form && !plan.cancelled_at && waiting) {
          var cancel = el("button", "secondary cancel-plan", "Avslutt planen");
          cancel.type = "button";
          cancel.addEventListener("click", function () {
            if (!window.confirm("Avslutte planen? Det som ikke er sendt, blir ikke sendt.")) return;
            api("POST", "/api/followups/" + plan.id + "/cancel/", {}).then(load).catch(showError);
          });
          li.appendChild(cancel);
        }
        list.appendChild(li);
      });
    }

    function load() {
      return api("GET", "/api/patients/" + patientId + "/followups/").then(renderPlans).catch(showError);
    }

    function fill(select, rows, label) {
      select.textContent = "";
      rows.forEach(function (row) { select.appendChild(new Option(label(row), String(row.id))); });
    }

    function show(id, again) {
      if (!section || !id || (id === patientId && !again)) return;
      patientId = id;
      section.hidden = false;
      load();
      if (!form) return;
      api("GET", "/api/patients/" + id + "/contacts/").then(function (data) {
        fill(form.elements.contact, data.results, function (c) {
          return c.name + " (" + c.phone + ")" + (c.sms_consent ? "" : " – mangler samtykke til SMS");
        });
      }).catch(showError);
      api("GET", "/api/municipal-coordinators/").then(function (data) {
        fill(form.elements.municipality, data.results, function (m) { return m.municipality + " – " + m.name; });
      }).catch(showError);
    }

    if (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var contact = Number(form.elements.contact.value);
        withConsent(function () {
          return api("POST", "/api/patients/" + patientId + "/followups/", {
            contact: contact,
            start_date: form.elements.start_date.value,
            municipality: Number(form.elements.municipality.value)
          });
        }, contact).then(function () {
          form.reset();
          document.getElementById("followup-new").open = false;
          show(patientId, true);  // the plans, and the contacts' consent as it is now
        }).catch(showError);
      });
    }
    return { show: show };
  }

  /* A message refused because no consent to SMS is recorded: the coordinator can record that
   * the family has consented (orally is enough) and send again, in one step. */
  function withConsent(send, contactId) {
    return send().catch(function (error) {
      if (error.code !== "consent_missing" || !contactId) throw error;
      if (!window.confirm("Samtykke til SMS er ikke registrert for denne kontakten. " +
          "Har familien samtykket (muntlig er nok)? OK registrerer samtykket og sender.")) throw error;
      return api("PATCH", "/api/contacts/" + contactId + "/", { sms_consent: true }).then(send);
    });
  }

  function startReplyBox(id, showError, reload, contactOf) {
    var list = document.getElementById("messages");
    var form = document.getElementById("reply-form");
    var templates = {};

    function renderMessages(data) {
      list.textContent = "";
      if (!data.results.length) list.appendChild(el("li", "meta", "Ingen meldinger sendt."));
      data.results.forEach(function (m) {
        var li = el("li", "message status-" + m.status);
        li.dataset.messageId = m.id;
        var head = el("div", "meta", when(m.created_at) + " · " +
          (m.template ? m.template.key : "fritekst") + (m.sensitive ? " · sikker lenke" : "") +
          " · " + m.segments + " SMS");
        var status = el("span", "message-status", MESSAGE_STATUS[m.status] || m.status);
        if (m.error_code) status.textContent += " (feilkode " + m.error_code + ")";
        if (m.scheduled_for && m.status === "scheduled") status.textContent += ", sendes " + when(m.scheduled_for);
        head.appendChild(document.createTextNode(" · "));
        head.appendChild(status);
        li.appendChild(head);
        li.appendChild(el("p", "message-body", m.content));
        list.appendChild(li);
      });
    }

    function load() {
      return api("GET", "/api/inquiries/" + id + "/messages/").then(renderMessages).catch(showError);
    }
    load();
    if (!form) return { load: load };

    var picker = document.getElementById("reply-template");
    var language = document.getElementById("reply-language");
    var vars = document.getElementById("reply-variables");
    var text = document.getElementById("reply-text");
    var textLabel = document.getElementById("reply-text-label");
    var preview = document.getElementById("reply-preview");
    var counter = document.getElementById("reply-counter");
    var timer = null;

    function values() {
      var out = {};
      vars.querySelectorAll("input").forEach(function (input) { out[input.name] = input.value; });
      return out;
    }

    function count(result) {
      counter.textContent = result.encoding + " · " + result.characters + " tegn · " +
        result.segments + " SMS" + (result.sensitive ? " · sendes som sikker lenke" : "") +
        (result.missing && result.missing.length ? " · mangler: " + result.missing.join(", ") : "");
      counter.dataset.segments = result.segments;
    }

    function refresh() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var key = picker.value;
        if (!key) {
          preview.textContent = text.value;
          count(measure(text.value));
          return;
        }
        api("POST", "/api/templates/" + key + "/preview/", { language: language.value, variables: values() })
          .then(function (result) { preview.textContent = result.text; count(result); })
          .catch(showError);
      }, 150);
    }

    function pick() {
      vars.textContent = "";
      var t = templates[picker.value];
      textLabel.hidden = !!t;
      if (t) {
        var version = t.languages[language.value] || t.languages.nb;
        (version ? version.variables : []).forEach(function (name) {
          var label = el("label", null, name.replace(/_/g, " ") + " ");
          var input = el("input");
          input.name = name;
          input.addEventListener("input", refresh);
          label.appendChild(input);
          vars.appendChild(label);
        });
      }
      refresh();
    }

    api("GET", "/api/templates/").then(function (data) {
      data.results.forEach(function (t) {
        templates[t.key] = t;
        picker.appendChild(new Option(t.name + (t.sensitive ? " (sensitiv)" : ""), t.key));
      });
    }).catch(showError);
    picker.addEventListener("change", pick);
    language.addEventListener("change", pick);
    text.addEventListener("input", refresh);

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = picker.value
        ? { template: picker.value, language: language.value, variables: values() }
        : { text: text.value };
      var key = "web-" + Date.now() + "-" + Math.random().toString(36).slice(2);
      withConsent(function () {
        return api("POST", "/api/inquiries/" + id + "/replies/", body, { "Idempotency-Key": key });
      }, contactOf())
        .then(function () {
          form.reset(); pick(); preview.textContent = ""; counter.textContent = "";
          load(); reload();
        }).catch(showError);
    });
    return { load: load };
  }

  /* Free text is counted here as the server counts templates (GSM 03.38). */
  var GSM_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡" +
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXT = "\f^{}\\[~]|€";

  function measure(value) {
    var chars = Array.from(value);
    var gsm = chars.every(function (c) { return GSM_BASIC.indexOf(c) >= 0 || GSM_EXT.indexOf(c) >= 0; });
    var widths = chars.map(function (c) {
      if (gsm) return GSM_EXT.indexOf(c) >= 0 ? 2 : 1;
      return c.codePointAt(0) > 0xffff ? 2 : 1;
    });
    var units = widths.reduce(function (a, b) { return a + b; }, 0);
    var single = gsm ? 160 : 70, part = gsm ? 153 : 67, segments = 0, used = 0;
    if (units > 0 && units <= single) segments = 1;
    else if (units > single) {
      segments = 1;
      widths.forEach(function (w) { if (used + w > part) { segments += 1; used = 0; } used += w; });
    }
    return { encoding: gsm ? "GSM-7" : "UCS-2", characters: chars.length, segments: segments };
  }

  /* --- The triage form: built from the rules in force, in the order a nurse asks on the
   * phone, graded as it is filled in. --- */

  function startTriageForm(id, reload, showError) {
    var form = document.getElementById("triage-form");
    if (!form) return;
    var fields = document.getElementById("triage-fields");
    var resultBox = document.getElementById("triage-result");
    var rules = null;
    var timer = null;

    function control(name, label, spec) {
      var wrap = el("label", null, label + " ");
      var input;
      if (spec.type === "number" || spec.type === "int") {
        input = document.createElement("input");
        input.type = "text";
        input.inputMode = "decimal";
        input.placeholder = spec.unit || "";
        input.dataset.kind = spec.type;
      } else {
        input = document.createElement("select");
        input.appendChild(new Option("– ikke spurt –", ""));
        var labels = spec.value_labels || {};
        Object.keys(spec.values).forEach(function (v) { input.appendChild(new Option(labels[v] || v, v)); });
        input.dataset.kind = spec.type;
      }
      input.name = name;
      wrap.appendChild(input);
      return wrap;
    }

    function build() {
      fields.textContent = "";
      var active = el("label", null, rules.context.on_active_treatment.label + " ");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.name = "on_active_treatment";
      box.checked = rules.context.on_active_treatment["default"] !== false;
      box.dataset.kind = "checkbox";
      active.insertBefore(box, active.firstChild);
      fields.appendChild(active);
      var specs = {};
      rules.symptoms.forEach(function (s) { specs[s.field] = s; });
      rules.ask_order.forEach(function (name) { fields.appendChild(control(name, specs[name].label, specs[name])); });
      var q = el("label", null, "Hva spør de om? ");
      var select = document.createElement("select");
      select.name = "question_type";
      select.dataset.kind = "choice";
      select.appendChild(new Option("– symptomer / annet –", ""));
      Object.keys(rules.question_types).forEach(function (k) { select.appendChild(new Option(rules.question_types[k], k)); });
      q.appendChild(select);
      fields.appendChild(q);
    }

    function inputs() {
      var out = {};
      fields.querySelectorAll("input, select").forEach(function (input) {
        var kind = input.dataset.kind;
        if (kind === "checkbox") { out[input.name] = input.checked; return; }
        if (input.value === "") return;
        if (kind === "number" || kind === "int") {
          var n = Number(input.value.replace(",", "."));
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
      var head = el("p");
      head.appendChild(el("span", "pill " + result.grade, GRADE[result.grade]));
      head.appendChild(el("strong", null, " " + (rules.action_labels[result.action] || result.action)));
      resultBox.appendChild(head);
      var list = el("ul");
      result.reasons.forEach(function (r) { list.appendChild(el("li", null, r.text)); });
      resultBox.appendChild(list);
    }

    function preview() {
      api("POST", "/api/triage/assess/", inputs()).then(show).catch(function (error) {
        resultBox.textContent = error.message + " " + Object.keys(error.fields || {}).map(function (k) {
          return k + ": " + error.fields[k];
        }).join(" ");
      });
    }

    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(preview, 150); });
    form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(preview, 150); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = inputs();
      var override = form.querySelector("[name=override_grade]").value;
      if (override) {
        body.override_grade = override;
        body.override_reason = form.querySelector("[name=override_reason]").value;
      }
      api("POST", "/api/inquiries/" + id + "/assessments/", body).then(function () {
        document.getElementById("triage").open = false;
        reload();
      }).catch(showError);
    });
    api("GET", "/api/triage/rules/").then(function (data) { rules = data.data; build(); preview(); });
  }

  /* --- The doctor's page: open escalations with countdowns, one field to answer. --- */

  function startDoctorPage(myId) {
    var list = document.getElementById("escalations");
    var count = document.getElementById("esc-count");
    var errorBox = document.getElementById("action-error");
    var items = {};
    var drafts = {};
    var handOver = {};  // escalation id -> the colleague picked to take it over
    var doctors = [];

    function showError(error) { errorBox.textContent = error.message || "Noe gikk galt."; errorBox.hidden = false; }

    // A doctor who cannot answer (in theatre, off sick, wrong speciality) sends it on to a
    // colleague in the section; the deadlines keep running.
    function reassignForm(esc) {
      var form = el("form", "esc-actions reassign");
      var pick = document.createElement("select");
      pick.name = "doctor";
      pick.appendChild(new Option("Velg lege …", ""));
      doctors.forEach(function (d) {
        if (d.id !== myId) pick.appendChild(new Option(d.name, String(d.id)));
      });
      pick.value = handOver[esc.id] || "";
      pick.addEventListener("change", function () { handOver[esc.id] = pick.value; });
      var label = el("label", null, "Send videre til ");
      label.appendChild(pick);
      form.appendChild(label);
      var go = el("button", "secondary", "Send videre");
      go.type = "submit";
      form.appendChild(go);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        if (!pick.value) { showError({ message: "Velg legen som skal ta over." }); return; }
        api("POST", "/api/escalations/" + esc.id + "/reassign/", { doctor: Number(pick.value) })
          .then(function (data) { delete handOver[esc.id]; errorBox.hidden = true; upsert(data); })
          .catch(showError);
      });
      return form;
    }

    function card(esc) {
      var c = el("article", "esc-card " + (esc.grade || "none"));
      c.dataset.escalationId = esc.id;
      var patient = esc.context && esc.context.patient;
      var title = el("h2", null, patient ? patient.name + " (f. " + patient.birth_date + ")" : "Ukjent pasient");
      c.appendChild(title);
      var due = esc.state === "open" ? esc.acknowledge_due_at : esc.answer_due_at;
      var d = deadline(due);
      var meta = [esc.grade ? "Grad: " + GRADE[esc.grade] : "Ikke triagert", ESC_STATE[esc.state],
                  (esc.state === "open" ? "se innen " : "svar innen ") + d.text.replace(/^om /, "")];
      if (patient && patient.diagnosis) meta.push(patient.diagnosis + (patient.protocol ? ", " + patient.protocol : ""));
      c.appendChild(el("p", "meta deadline" + (d.overdue ? " overdue" : ""), meta.join(" · ")));
      c.appendChild(el("p", "question", esc.question));
      if (esc.triage && esc.triage.reasons && esc.triage.reasons.length) {
        var ul = el("ul");
        esc.triage.reasons.forEach(function (r) { ul.appendChild(el("li", null, r.text)); });
        c.appendChild(el("strong", null, "Triage"));
        c.appendChild(ul);
      }
      if (esc.context && esc.context.recent && esc.context.recent.length) {
        var recent = el("ul");
        esc.context.recent.forEach(function (e) {
          if (e.text) recent.appendChild(el("li", null, (ENTRY[e.kind] || e.kind) + ": " + e.text));
        });
        c.appendChild(el("strong", null, "Siste i henvendelsen"));
        c.appendChild(recent);
      }
      var form = el("form", "stack");
      var area = document.createElement("textarea");
      area.name = "answer"; area.rows = 3; area.required = true;
      area.value = drafts[esc.id] || "";
      area.addEventListener("input", function () { drafts[esc.id] = area.value; });
      var label = el("label", null, "Svar til koordinator ");
      label.appendChild(area);
      form.appendChild(label);
      var come = el("label", null, " Pasienten må komme inn");
      var box = document.createElement("input");
      box.type = "checkbox"; box.name = "patient_must_come_in";
      come.insertBefore(box, come.firstChild);
      form.appendChild(come);
      var actions = el("div", "esc-actions");
      if (esc.state === "open") {
        var ack = el("button", "secondary acknowledge", "Jeg har sett den");
        ack.type = "button";
        ack.addEventListener("click", function () {
          api("POST", "/api/escalations/" + esc.id + "/acknowledge/", {}).then(upsert).catch(showError);
        });
        actions.appendChild(ack);
      }
      var send = el("button", null, "Send svar");
      send.type = "submit";
      actions.appendChild(send);
      form.appendChild(actions);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        api("POST", "/api/escalations/" + esc.id + "/answer/", {
          answer: area.value, patient_must_come_in: box.checked
        }).then(function (data) { delete drafts[esc.id]; upsert(data); }).catch(showError);
      });
      c.appendChild(form);
      if (doctors.length > 1) c.appendChild(reassignForm(esc));
      return c;
    }

    function render() {
      var open = Object.keys(items).map(function (k) { return items[k]; })
        .filter(function (e) { return e.state !== "answered" && e.doctor.id === myId; })
        .sort(function (a, b) { return Date.parse(a.acknowledge_due_at) - Date.parse(b.acknowledge_due_at); });
      count.textContent = "(" + open.length + ")";
      // Redrawing must not take the answer field from a doctor who is typing in it.
      var active = document.activeElement;
      var typingIn = active && active.name === "answer" ? active.closest(".esc-card").dataset.escalationId : null;
      list.textContent = "";
      if (!open.length) { list.appendChild(el("p", "meta", "Ingen åpne eskaleringer.")); return; }
      open.forEach(function (esc) { list.appendChild(card(esc)); });
      if (typingIn) {
        var again = list.querySelector('[data-escalation-id="' + typingIn + '"] textarea');
        if (again) { again.focus(); again.selectionStart = again.selectionEnd = again.value.length; }
      }
    }

    function upsert(esc) { items[esc.id] = esc; render(); }

    // Events for other doctors' escalations do not come here, so gaps in seq are normal:
    // every (re)connect gets a fresh snapshot instead.
    connect({
      ignoreGaps: true,
      onSnapshot: function (_rows, _seq, data) {
        items = {};
        data.escalations.forEach(function (esc) { items[esc.id] = esc; });
        render();
      },
      onEvent: function (event) { if (event.escalation) upsert(event.escalation); }
    }, "/ws/doctor/");
    api("GET", "/api/doctors/").then(function (data) { doctors = data.results; render(); }).catch(showError);
    setInterval(render, 30000);
  }

  /* --- The roster: a week per view; a lead adds, removes and imports shifts. --- */

  function startRosterPage(canEdit) {
    var DAYS = ["man", "tir", "ons", "tor", "fre", "lør", "søn"];
    var ROLES = [["ward_doctor", "Postansvarlig"], ["on_call", "Vakthavende"]];
    var errorBox = document.getElementById("action-error");
    var monday = new Date();
    monday.setHours(0, 0, 0, 0);
    monday.setDate(monday.getDate() - ((monday.getDay() + 6) % 7));

    function showError(error) {
      var fields = error.fields || {};
      errorBox.textContent = error.message + " " + Object.keys(fields).map(function (k) {
        return k + ": " + [].concat(fields[k]).join(" ");
      }).join("; ");
      errorBox.hidden = false;
    }
    function day(offset) { var d = new Date(monday); d.setDate(d.getDate() + offset); return d; }
    function hhmm(d) { return d.toLocaleTimeString("nb-NO", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Oslo" }); }

    function load() {
      errorBox.hidden = true;
      var from = day(0), to = day(7);
      document.getElementById("week-label").textContent =
        from.toLocaleDateString("nb-NO") + " – " + day(6).toLocaleDateString("nb-NO");
      var head = document.getElementById("roster-head");
      head.textContent = "";
      var tr = el("tr");
      tr.appendChild(el("th", null, ""));
      for (var i = 0; i < 7; i++) tr.appendChild(el("th", null, DAYS[i] + " " + day(i).getDate() + "."));
      head.appendChild(tr);
      api("GET", "/api/rosters/?from=" + encodeURIComponent(from.toISOString()) +
          "&to=" + encodeURIComponent(to.toISOString())).then(function (data) {
        var body = document.getElementById("roster-body");
        body.textContent = "";
        ROLES.forEach(function (role) {
          var row = el("tr");
          row.appendChild(el("th", null, role[1]));
          for (var i = 0; i < 7; i++) {
            var cell = el("td");
            var start = day(i), end = day(i + 1);
            data.results.forEach(function (s) {
              var a = new Date(s.starts_at), b = new Date(s.ends_at);
              if (s.role !== role[0] || b <= start || a >= end) return;
              var line = el("span", "shift", s.doctor.name + " " + hhmm(a) + "–" + hhmm(b));
              if (canEdit) {
                var del = el("button", "secondary", "×");
                del.type = "button";
                del.title = "Fjern vakten";
                del.addEventListener("click", function () {
                  api("DELETE", "/api/rosters/" + s.id + "/").then(load).catch(showError);
                });
                line.appendChild(del);
              }
              cell.appendChild(line);
            });
            row.appendChild(cell);
          }
          body.appendChild(row);
        });
      }).catch(showError);
    }

    document.getElementById("prev-week").addEventListener("click", function () { monday.setDate(monday.getDate() - 7); load(); });
    document.getElementById("next-week").addEventListener("click", function () { monday.setDate(monday.getDate() + 7); load(); });
    if (canEdit) {
      api("GET", "/api/doctors/").then(function (data) {
        var select = document.getElementById("doctor-select");
        data.results.forEach(function (d) { select.appendChild(new Option(d.name, d.id)); });
      });
      var shiftForm = document.getElementById("shift-form");
      shiftForm.addEventListener("submit", function (e) {
        e.preventDefault();
        var f = new FormData(shiftForm);
        api("POST", "/api/rosters/", {
          role: f.get("role"), doctor: Number(f.get("doctor")),
          starts_at: new Date(f.get("starts_at")).toISOString(),
          ends_at: new Date(f.get("ends_at")).toISOString()
        }).then(load).catch(showError);
      });
      var csvForm = document.getElementById("csv-form");
      csvForm.addEventListener("submit", function (e) {
        e.preventDefault();
        api("POST", "/api/rosters/import/", { csv: csvForm.querySelector("textarea").value })
          .then(function () { csvForm.reset(); load(); }).catch(showError);
      });
    }
    load();
  }

  window.Kontaktpunkt = {
    startRosterPage: startRosterPage,
    startQueuePage: startQueuePage, startInquiryPage: startInquiryPage, startDoctorPage: startDoctorPage
  };
})();
