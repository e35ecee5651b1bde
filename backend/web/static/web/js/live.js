/* The live connection: snapshot, events in seq order, resync after a drop, a banner while it is
 * down. A socket the server closes because the session ended (4401) sends the user to log in;
 * one closed for want of access (4403) says so and stops. Neither is retried. */
import { toLogin } from "./common.js";

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403;

export function connect(handlers, path) {
  const banner = document.getElementById("banner");
  let lastSeq = null;
  let socket = null;
  let delay = 500;
  let pingTimer = null;
  let stopped = false;

  function send(obj) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(obj));
  }

  function open() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    // The queue of the section the page is about (the server names it; the socket never guesses).
    const section = document.body.dataset.section;
    const queue = "/ws/queue/" + (section ? "?section=" + encodeURIComponent(section) : "");
    socket = new WebSocket(scheme + location.host + (path || queue));
    socket.onopen = () => {
      delay = 500;
      pingTimer = setInterval(() => send({ type: "ping" }), 25000);
    };
    socket.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      if (data.type === "snapshot") {
        // Connected (again): the snapshot is the whole truth as of its seq.
        banner.hidden = true;
        lastSeq = data.seq;
        handlers.onSnapshot(data.inquiries, data.seq, data);
        if (handlers.onConnected) handlers.onConnected();
        return;
      }
      if (data.type === "presence") { if (handlers.onPresence) handlers.onPresence(data); return; }
      // A notice (no seq, no patient data): something the page fetches through the API changed.
      if (data.type === "inbox.set_aside") { if (handlers.onNotice) handlers.onNotice(data); return; }
      if (handlers.ignoreGaps && data.type !== "error" && data.type !== "pong") {
        handlers.onEvent(data);
        return;
      }
      if (data.type === "pong") {
        // The section's last seq: one above what this page has seen was lost on its way here.
        if (typeof data.seq === "number" && lastSeq !== null && data.seq > lastSeq) {
          send({ type: "resync", since: lastSeq });
        }
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
    socket.onclose = (event) => {
      clearInterval(pingTimer);
      if (stopped) return;
      if (event.code === CLOSE_UNAUTHENTICATED) { stopped = true; toLogin(); return; }
      if (event.code === CLOSE_FORBIDDEN) {
        stopped = true;
        banner.textContent = "Du har ikke lenger tilgang til denne køen. Logg inn på nytt eller spør leder.";
        banner.hidden = false;
        return;
      }
      banner.hidden = false;
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  open();
  return { send };
}
