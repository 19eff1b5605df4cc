/* The driver app's service worker: the page and its script and style are kept on the
 * phone, so the route (kept in localStorage by driver.js) opens even when the phone is
 * offline, including after the browser closed the tab. Network first: online, the phone
 * always gets the current page; the copy is only for when the network fails. */
"use strict";

const CACHE = "hub-driver-v1";

function kept(url) {
  return url.origin === self.location.origin && (url.pathname === "/driver" || url.pathname.startsWith("/static/driver."));
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || !kept(url)) return;
  event.respondWith(
    fetch(event.request)
      .then((answer) => {
        if (answer.ok && !answer.redirected) {
          const copy = answer.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return answer;
      })
      .catch(() => caches.match(event.request).then((found) => found || Response.error()))
  );
});
