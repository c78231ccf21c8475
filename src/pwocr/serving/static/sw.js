// pwocr's service worker: after one visit the page opens and reads with the network off.
// The site's files and version are written in by pwocr (serving/webapp.py) when the site is built.
"use strict";

const VERSION = "__VERSION__";
const FILES = [] /* __FILES__ */;
const CACHE = `pwocr-${VERSION}`;

// A response from the cache, with the headers that make the page cross-origin isolated (threads),
// which a plain static host does not send.
function isolated(response) {
  if (!response || response.status !== 200 || response.type === "opaque") return response;
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("pwocr-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// The site's own files come from the cache; anything else (the server's API) goes to the network.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== location.origin) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(request, { ignoreSearch: true });
      return cached ? isolated(cached) : fetch(request);
    }),
  );
});
