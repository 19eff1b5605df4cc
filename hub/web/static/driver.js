/* The driver app on the phone: today's route, arrive / deliver / fail, position pings.
 *
 * Every action and ping goes into a queue kept in localStorage first, then is sent to
 * /api/v1/driver/...; while the phone is offline the queue waits and is sent when it is
 * back, oldest first. Each action carries its own id (client_id), so a queue sent twice
 * (the answer was lost) is recorded once by the hub, and the time it happened on the
 * phone, by which the hub orders it. Photos are scaled down on the phone before they are
 * queued. No library, no inline script (the page's Content-Security-Policy forbids it).
 */
(function () {
  "use strict";

  const API = "/api/v1/driver";
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const driverId = document.querySelector("meta[name=driver]").content;
  const KEY = "hub-driver-" + driverId + "-";
  const MOST_PINGS = 2000; // kept while offline; the oldest go first beyond
  const PHOTO_EDGE = 1280; // pixels: the longer side of a photo as sent
  const BATCH_BYTES = 3 * 1024 * 1024;

  let route = load("route", null);
  let queue = load("queue", []); // actions not yet accepted, oldest first
  let pings = load("pings", []);
  let sending = false;
  let retryIn = 2000;
  let lastPosition = null;
  let pingTimer = null;
  const deviceId = load("device", null) || save("device", randomId());

  function load(name, fallback) {
    try {
      const text = localStorage.getItem(KEY + name);
      return text === null ? fallback : JSON.parse(text);
    } catch (e) {
      return fallback;
    }
  }

  function save(name, value) {
    try {
      localStorage.setItem(KEY + name, JSON.stringify(value));
    } catch (e) {
      showStatus("This phone's storage is full: stay online so waiting deliveries can be sent.");
    }
    return value;
  }

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // -- talking to the hub -------------------------------------------------------------------

  async function call(method, path, body) {
    const options = { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const answer = await fetch(API + path, options);
    let data = null;
    try {
      data = await answer.json();
    } catch (e) {
      data = null;
    }
    return { status: answer.status, data };
  }

  async function refresh() {
    try {
      const answer = await call("GET", "/route");
      if (answer.status === 401) {
        window.location.assign("/driver");
        return;
      }
      if (answer.status === 200) {
        route = save("route", answer.data);
        render();
      }
    } catch (e) {
      // offline: the route kept on the phone stays on screen
    }
    showQueue();
  }

  async function flush() {
    if (sending) return;
    sending = true;
    try {
      while (queue.length) {
        const batch = [];
        let bytes = 0;
        for (const action of queue) {
          const size = JSON.stringify(action).length;
          if (batch.length && (bytes + size > BATCH_BYTES || batch.length >= 20)) break;
          batch.push(action);
          bytes += size;
        }
        const answer = await call("POST", "/actions", { device_id: deviceId, actions: batch });
        if (answer.status === 200) {
          const done = new Set(batch.map((a) => a.client_id));
          queue = save("queue", queue.filter((a) => !done.has(a.client_id)));
        } else if (answer.status === 401) {
          window.location.assign("/driver");
          return;
        } else if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429) {
          refuse(batch, answer.data);
        } else {
          throw new Error("the hub answered " + answer.status);
        }
      }
      await sendPings();
      retryIn = 2000;
      await refresh();
    } catch (e) {
      showQueue();
      setTimeout(flush, retryIn);
      retryIn = Math.min(retryIn * 2, 60000);
    } finally {
      sending = false;
    }
  }

  function refuse(batch, data) {
    // The hub refused one action of the batch (it names it): drop that one, say why,
    // and send the rest again.
    const error = (data && data.error) || {};
    const found = /^\/actions\/(\d+)/.exec(error.field || "");
    const bad = batch[found ? Number(found[1]) : 0];
    queue = save("queue", queue.filter((a) => a.client_id !== bad.client_id));
    const stop = stopOf(bad.stop);
    const line = document.createElement("p");
    line.textContent = "Stop " + bad.stop + (stop ? " (" + stop.name + ")" : "") + ": not recorded: " + (error.message || "refused");
    document.getElementById("refused").append(line);
  }

  async function sendPings() {
    while (pings.length && route && route.route) {
      const batch = pings.slice(0, 500);
      const answer = await call("POST", "/pings", { device_id: deviceId, route: route.route, pings: batch });
      if (answer.status === 200 || (answer.status >= 400 && answer.status < 500 && answer.status !== 429)) {
        pings = save("pings", pings.slice(batch.length)); // refused pings are not retried
      } else {
        throw new Error("pings: " + answer.status);
      }
    }
  }

  // -- actions --------------------------------------------------------------------------------

  function record(stop, kind, extra) {
    const action = Object.assign(
      { client_id: randomId(), route: route.route, stop: stop.seq, kind, at: new Date().toISOString() },
      extra
    );
    if (lastPosition) {
      action.latitude = lastPosition.latitude;
      action.longitude = lastPosition.longitude;
      action.accuracy = lastPosition.accuracy;
    }
    queue.push(action);
    save("queue", queue);
    render();
    showQueue();
    flush();
  }

  function stateOf(stop) {
    // the hub's state, with what is still waiting on the phone on top (by phone time)
    let state = stop.state;
    for (const action of queue) {
      if (action.stop !== stop.seq || (route && action.route !== route.route)) continue;
      if (state === "delivered") break;
      if (action.kind === "deliver") state = "delivered";
      else if (action.kind === "fail") state = "failed";
      else if (state === "pending") state = "arrived";
    }
    return state;
  }

  function stopOf(seq) {
    return route ? route.stops.find((s) => s.seq === seq) : null;
  }

  // -- the page -------------------------------------------------------------------------------

  const WORDS = { pending: "to do", arrived: "arrived", delivered: "delivered", failed: "failed", cancelled: "cancelled" };

  function clock(text) {
    if (!text) return "";
    return new Date(text).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function render() {
    const list = document.getElementById("stops");
    list.replaceChildren();
    if (!route) return;
    const day = new Date(route.day + "T12:00:00").toLocaleDateString([], { weekday: "long", day: "numeric", month: "long" });
    document.getElementById("heading").textContent = "Route for " + day;
    document.getElementById("empty").hidden = route.stops.length > 0;
    for (const stop of route.stops) list.append(stopCard(stop));
    const reasons = document.querySelector("#fail-form select[name=reason]");
    if (!reasons.options.length) {
      for (const reason of route.fail_reasons) reasons.append(el("option", { value: reason.code }, reason.label));
    }
    schedulePings();
  }

  function stopCard(stop) {
    const state = stateOf(stop);
    const done = state === "delivered" || state === "cancelled";
    const window_ = stop.window_start ? clock(stop.window_start) + "–" + clock(stop.window_end) : "any time";
    const card = el(
      "li",
      { class: "stop" + (done ? " done" : ""), "data-stop": String(stop.seq) },
      el("header", {}, el("span", { class: "seq" }, String(stop.seq)), el("span", { class: "name" }, stop.name), el("span", { class: "state " + state }, WORDS[state] || state)),
      el("div", {}, el("span", { class: "window" }, window_), " · planned " + clock(stop.planned_arrival)),
      el("div", { class: "address" }, stop.address)
    );
    const items = el("ul", { class: "items" });
    for (const item of stop.items) items.append(el("li", {}, item.quantity + " × " + (item.title || item.sku) + " (" + item.sku + ")"));
    card.append(items);
    card.append(el("div", { class: "muted" }, "Orders " + stop.orders.map((o) => o.number).join(", ")));
    if (state === "failed" && stop.reason) {
      const reason = route.fail_reasons.find((r) => r.code === stop.reason);
      card.append(el("div", { class: "why" }, "Failed: " + (reason ? reason.label : stop.reason)));
    }
    if (stop.notes) card.append(el("div", { class: "notes" }, stop.notes));
    const links = el("div", { class: "links" }, el("a", { href: stop.navigation_url, target: "_blank", rel: "noopener" }, "Navigate"));
    if (stop.phone) links.append(el("a", { href: "tel:" + stop.phone }, "Call " + stop.phone));
    card.append(links);
    if (!done) {
      const arrive = el("button", { type: "button", class: "secondary" }, "Arrived");
      const deliver = el("button", { type: "button", class: "ok" }, "Deliver");
      const fail = el("button", { type: "button", class: "bad" }, "Failed");
      arrive.disabled = state !== "pending";
      arrive.addEventListener("click", () => record(stop, "arrive", {}));
      deliver.addEventListener("click", () => openDeliver(stop));
      fail.addEventListener("click", () => openFail(stop));
      card.append(el("div", { class: "buttons" }, arrive, deliver, fail));
    }
    return card;
  }

  function showStatus(text, offline) {
    const bar = document.getElementById("sync");
    bar.textContent = text;
    bar.classList.toggle("offline", Boolean(offline));
  }

  function showQueue() {
    const waiting = queue.length;
    document.getElementById("sync").dataset.waiting = String(waiting);
    if (!navigator.onLine) {
      showStatus("Offline: " + waiting + " action" + (waiting === 1 ? "" : "s") + " waiting; they are sent when you are back online.", true);
    } else if (waiting) {
      showStatus("Sending " + waiting + " action" + (waiting === 1 ? "" : "s") + "…", true);
    } else {
      showStatus("All sent · " + new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    }
  }

  // -- dialogs ----------------------------------------------------------------------------------

  let current = null;

  function openDialog(id, stop) {
    current = stop;
    const dialog = document.getElementById(id);
    dialog.querySelector("form").reset();
    dialog.querySelector("[data-stop-name]").textContent = "Stop " + stop.seq + ": " + stop.name + ", " + stop.address;
    dialog.querySelector("[data-error]").hidden = true;
    dialog.showModal();
    return dialog;
  }

  function dialogError(dialog, text) {
    const line = dialog.querySelector("[data-error]");
    line.textContent = text;
    line.hidden = false;
  }

  function openDeliver(stop) {
    openDialog("deliver-dialog", stop);
    pad.clear();
  }

  function openFail(stop) {
    openDialog("fail-dialog", stop);
  }

  async function submitDelivery(event) {
    event.preventDefault();
    const dialog = document.getElementById("deliver-dialog");
    const form = event.target;
    const name = form.recipient_name.value.trim();
    if (!name) return dialogError(dialog, "Who took the goods? Enter their name.");
    if (pad.empty()) return dialogError(dialog, "Ask the recipient to sign in the box.");
    const extra = { recipient_name: name, signature: pad.dataUrl() };
    const file = form.photo.files[0];
    if (file) {
      try {
        extra.photo = await scaledPhoto(file);
      } catch (e) {
        return dialogError(dialog, "That file is not a picture this phone can read; take the photo again.");
      }
    }
    dialog.close();
    record(current, "deliver", extra);
  }

  function submitFailure(event) {
    event.preventDefault();
    const dialog = document.getElementById("fail-dialog");
    const form = event.target;
    const note = form.note.value.trim();
    if (form.reason.value === "other" && !note) return dialogError(dialog, "Say what happened in the note.");
    dialog.close();
    record(current, "fail", { reason: form.reason.value, note });
  }

  async function scaledPhoto(file) {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, PHOTO_EDGE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/jpeg", 0.8);
  }

  // -- the signature pad: pointer events (finger, pen, mouse) on a canvas ----------------------

  const pad = (function () {
    const canvas = document.getElementById("signature");
    const ink = canvas.getContext("2d");
    let drawing = false;
    let strokes = 0;

    function at(event) {
      const box = canvas.getBoundingClientRect();
      return [((event.clientX - box.left) * canvas.width) / box.width, ((event.clientY - box.top) * canvas.height) / box.height];
    }
    canvas.addEventListener("pointerdown", (event) => {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      ink.beginPath();
      ink.moveTo(...at(event));
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      ink.lineTo(...at(event));
      ink.stroke();
      strokes += 1;
      event.preventDefault();
    });
    const stop = () => {
      drawing = false;
    };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);

    return {
      clear() {
        ink.fillStyle = "#fff";
        ink.fillRect(0, 0, canvas.width, canvas.height);
        ink.lineWidth = 3;
        ink.lineCap = ink.lineJoin = "round";
        ink.strokeStyle = "#101828";
        strokes = 0;
      },
      empty: () => strokes < 3,
      dataUrl: () => canvas.toDataURL("image/png"),
    };
  })();

  // -- positions ---------------------------------------------------------------------------------

  function watchPosition() {
    if (!navigator.geolocation) return;
    navigator.geolocation.watchPosition(
      (position) => {
        lastPosition = {
          latitude: position.coords.latitude,
          longitude: position.coords.longitude,
          accuracy: position.coords.accuracy,
        };
      },
      () => {},
      { enableHighAccuracy: true, maximumAge: 10000 }
    );
  }

  function schedulePings() {
    if (pingTimer || !route) return;
    pingTimer = setInterval(() => {
      if (!lastPosition || !route.route) return;
      pings.push(Object.assign({ at: new Date().toISOString() }, lastPosition));
      if (pings.length > MOST_PINGS) pings = pings.slice(-MOST_PINGS);
      save("pings", pings);
      if (navigator.onLine && !sending) sendPings().catch(() => {});
    }, route.ping_seconds * 1000);
  }

  // -- start --------------------------------------------------------------------------------------

  document.getElementById("deliver-form").addEventListener("submit", submitDelivery);
  document.getElementById("fail-form").addEventListener("submit", submitFailure);
  document.getElementById("clear-signature").addEventListener("click", () => pad.clear());
  for (const button of document.querySelectorAll("dialog [data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  window.addEventListener("online", flush);
  window.addEventListener("offline", showQueue);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") flush();
  });
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/driver/sw.js", { scope: "/driver" }).catch(() => {});
  }
  render();
  watchPosition();
  flush();
  setInterval(refresh, 60000);
})();
