// The live view: server-sent events move the drivers' markers on the map and update each
// route's progress and the late orders without a reload. When the day's set of vans
// changes (event "routes", or a "hello" after a reconnect naming other vans than the page
// was rendered with) the page reloads itself once for that set and says so. No framework.
(() => {
  const root = document.getElementById("live");
  if (!root) return;
  const state = document.getElementById("feed-state");
  const svg = root.querySelector(".livemap svg");
  const late = new Map(); // vehicle -> its route's late orders
  const num = (name) => parseFloat(svg.dataset[name]);

  // The map's own projection (plugins/routing/export.py), read from its root element.
  const project = (lat, lon) => {
    const size = num("size"), margin = num("margin"), scale = num("scale");
    const x = margin + (lon - num("west")) * num("squeeze") * scale;
    const y = size - margin - (lat - num("south")) * scale;
    return [Math.min(Math.max(x, 0), size), Math.min(Math.max(y, 0), size)];
  };

  const moveMarker = (p) => {
    // by route; a route a re-plan continued is a new one of the same vehicle
    const marker = svg && (document.getElementById(`driver-${p.route}`)
      || svg.querySelector(`g.driver[data-vehicle="${CSS.escape(p.vehicle)}"]`));
    if (!marker) return;
    if (marker.dataset.at && marker.dataset.at > p.at) return; // an older ping, replayed late
    const [x, y] = project(p.latitude, p.longitude);
    marker.setAttribute("transform", `translate(${x.toFixed(1)} ${y.toFixed(1)})`);
    marker.setAttribute("data-x", x.toFixed(1));
    marker.setAttribute("data-y", y.toFixed(1));
    marker.setAttribute("data-lat", p.latitude.toFixed(6));
    marker.setAttribute("data-lon", p.longitude.toFixed(6));
    marker.dataset.at = p.at;
    marker.removeAttribute("visibility");
    const title = marker.querySelector("title");
    if (title) title.textContent = `${marker.querySelector("text").textContent} at ${p.at_local}`;
  };

  const row = (route, vehicle) => root.querySelector(`tr[data-route="${route}"]`)
    || root.querySelector(`tr[data-vehicle="${CSS.escape(vehicle)}"]`);
  const cell = (tr, name) => tr.querySelector(`td.${name}`);
  const delayText = (m) => (m > 0 ? `${m} min behind` : m < 0 ? `${-m} min ahead` : "on time");

  const showPosition = (p) => {
    moveMarker(p);
    const tr = row(p.route, p.vehicle);
    if (tr) cell(tr, "seen").textContent = p.at_local.slice(0, 5);
  };

  const showEta = (r) => {
    const tr = row(r.route, r.vehicle);
    if (tr) {
      cell(tr, "done").textContent = `${r.done}/${r.total}`;
      cell(tr, "next").textContent = r.next ? `${r.next.seq}. ${r.next.orders.join(", ")}` : "finished";
      cell(tr, "eta").textContent = r.next ? r.next.eta_local : "";
      cell(tr, "delay").textContent = delayText(r.delay_minutes);
      tr.classList.toggle("behind", r.delay_minutes > 0);
    }
    late.set(r.vehicle, r.late.map((item) => ({ ...item, vehicle: r.vehicle, route: r.route })));
    const list = document.getElementById("late");
    const items = [...late.values()].flat();
    list.replaceChildren(...items.map((item) => {
      const li = document.createElement("li");
      li.dataset.route = item.route;
      const strong = document.createElement("strong");
      strong.textContent = item.order;
      const promised = item.promised_local ? `, promised by ${item.promised_local}` : "";
      li.append(strong, ` · ${item.vehicle} stop ${item.seq} · expected ${item.eta_local}${promised}`);
      return li;
    }));
    document.getElementById("late-count").textContent = String(items.length);
    document.getElementById("no-late").hidden = items.length > 0;
  };

  // The late orders the page was rendered with, until a route's next eta event.
  root.querySelectorAll("#late li").forEach((li) => {
    const d = li.dataset;
    if (!late.has(d.vehicle)) late.set(d.vehicle, []);
    late.get(d.vehicle).push({ order: d.order, seq: d.seq, eta_local: d.eta, promised_local: d.promised, vehicle: d.vehicle, route: Number(d.route) });
  });

  // Vans dispatched (or gone) since the page was rendered: reload it, keeping its day.
  // A route a re-plan continued is one of a van shown, so no reason to reload. The set
  // reloaded for is remembered for the tab: never twice in a row for the same set.
  const notice = document.getElementById("live-notice");
  const say = (text) => { notice.textContent = text; notice.hidden = false; };
  const vans = JSON.parse(root.dataset.vehicles || "[]");
  const shown = [...vans].sort().join("\n");
  const RELOADED = "live-reloaded", NOTICE = "live-notice";
  const told = sessionStorage.getItem(NOTICE);
  if (told) { sessionStorage.removeItem(NOTICE); say(told); }
  const checkVehicles = (data) => {
    const now = [...data.vehicles].sort().join("\n");
    const key = `${root.dataset.day}|${now}`;
    if (now === shown) { sessionStorage.removeItem(RELOADED); return; }
    const news = data.vehicles.some((v) => !vans.includes(v)) ? "New routes dispatched" : "The day's routes changed";
    if (sessionStorage.getItem(RELOADED) === key) { say(`${news} — reload the page to see them`); return; }
    sessionStorage.setItem(RELOADED, key);
    sessionStorage.setItem(NOTICE, `${news} — updated`);
    say(`${news} — updating…`);
    events.close();
    location.replace(`${location.pathname}?day=${encodeURIComponent(root.dataset.day)}`);
  };

  const events = new EventSource(root.dataset.events);
  events.addEventListener("hello", (e) => {
    state.textContent = "live"; state.className = "feed live-on";
    const data = JSON.parse(e.data);
    if (data.vehicles) checkVehicles(data);
  });
  events.addEventListener("routes", (e) => checkVehicles(JSON.parse(e.data)));
  events.addEventListener("position", (e) => showPosition(JSON.parse(e.data)));
  events.addEventListener("eta", (e) => showEta(JSON.parse(e.data)));
  events.onerror = () => { state.textContent = "reconnecting…"; state.className = "feed live-off"; };
})();
