// pwocr's service worker: after one visit the page opens and reads with the network off.
// The site's files and version are written in by pwocr (serving/webapp.py) when the site is built.
"use strict";

const VERSION = "__VERSION__";
// The page and its small files, cached when the worker installs.
const SHELL = [] /* __SHELL__ */;
// Every file of the site; the large ones (the model, the WebAssembly) are cached as the reader
// first fetches them, so that a first visit downloads them once, with the page's progress bar.
const FILES = [] /* __FILES__ */;
const CACHE = `pwocr-${VERSION}`;
const SITE = new Set(FILES.map((name) => new URL(name, self.registration.scope).href));

// A response with the headers that make the page cross-origin isolated (onnxruntime-web's threads),
// which a plain static host does not send.
function isolated(response) {
  if (!response || response.status !== 200 || response.type === "opaque") return response;
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("pwocr-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// The site's own files come from the cache (fetched and kept the first time); anything else,
// such as a pwocr server's API, goes to the network untouched.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  url.search = "";
  if (request.method !== "GET" || !SITE.has(url.href)) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(url.href);
      if (cached) return isolated(cached);
      const response = await fetch(request);
      if (response.ok) await cache.put(url.href, response.clone());
      return isolated(response);
    }),
  );
});
