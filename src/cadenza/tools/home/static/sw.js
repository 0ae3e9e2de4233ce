// The person's app offline: pages are fetched from the network first and kept for when there is none;
// assigned audio is kept after its first play (or when the programme page asks for it) and played from
// here. Completions are not handled here: app.js queues them on the phone and sends each once.
"use strict";
const CACHE = "cadenza-me-v1";
const SHELL = ["/me", "/me/app.js", "/me/manifest.webmanifest", "/me/icon.svg", "/static/cadenza.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) =>
    Promise.all(SHELL.map((url) => cache.add(url).catch(() => undefined)))).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function isAudio(url) {
  return /^\/me\/tasks\/\d+\/(tracks\/\d+|cue\.wav)$/.test(url.pathname);
}

async function audioFirstFromCache(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request, {ignoreVary: true});
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.status === 200) await cache.put(request, response.clone());
  return response;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    // Keep only real pages (not the PIN page a locked phone is sent to).
    if (response.ok && !response.redirected) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const hit = await cache.match(request, {ignoreVary: true});
    if (hit) return hit;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  // A script a page of the app loads is kept too, wherever it is served from (e.g. a task kind's own script
  // that another tool provides, such as the tapping task's).
  const fromApp = event.request.destination === "script" && event.request.referrer
    && new URL(event.request.referrer).pathname.startsWith("/me");
  const mine = url.pathname === "/me" || url.pathname.startsWith("/me/") || url.pathname.startsWith("/static/") || fromApp;
  if (!mine) return;
  if (url.pathname === "/me/sw.js") return;
  event.respondWith(isAudio(url) ? audioFirstFromCache(event.request) : networkFirst(event.request));
});

self.addEventListener("message", (event) => {
  // {"keep": [urls]}: the programme page asks for its tasks and their audio to be kept for offline use.
  const urls = (event.data && Array.isArray(event.data.keep)) ? event.data.keep : [];
  event.waitUntil(caches.open(CACHE).then((cache) => Promise.all(urls
    .filter((u) => typeof u === "string" && u.startsWith("/me/"))
    .map((u) => cache.match(u).then((hit) => hit || cache.add(u).catch(() => undefined))))));
});
