// conso portal's service worker: served as /portal/sw.js (conso/web/pwa.py) with
// `Service-Worker-Allowed: /portal`, registered by app.js with the scope /portal.
//
// - The shell (style sheet, script, manifest, icons) is cached at install and refreshed
//   whenever the network answers: the app opens offline.
// - Portal pages and their live fragments are network first, always: online the user
//   sees what the server says, nothing older. Each HTML answer is kept (the last one
//   per path) with the time it was fetched (X-Conso-Fetched). Offline, the kept answer
//   is served instead of the browser's error: a page marked `data-offline-as-of` on its
//   <html> element, a fragment with its X-Conso-Fetched header, and app.js says "as of
//   14:32" in the page's language.
// - The kept pages hold personal figures: they are dropped when someone logs in or out.
// It never answers a POST or a CSV export, never keeps a redirect, an error or a
// non-HTML answer, and never touches another origin.
"use strict";

var VERSION = "1";
var SHELL = "conso-shell-" + VERSION;
var PAGES = "conso-pages";
var STAMP = "X-Conso-Fetched";
var SHELL_FILES = [
  "/static/app.css", "/static/app.js", "/static/manifest.webmanifest",
  "/static/icon-192.png", "/static/icon-512.png", "/static/icon-maskable-512.png",
  "/static/apple-touch-icon.png", "/static/favicon-32.png"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL)
    .then(function (cache) { return cache.addAll(SHELL_FILES); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys()
    .then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("conso-shell-") === 0 && name !== SHELL;
      }).map(function (name) { return caches.delete(name); }));
    })
    .then(function () { return self.clients.claim(); }));
});

// The portal's pages and fragments whose last answer is kept for offline use.
function keepable(url) {
  if (url.origin !== self.location.origin) { return false; }
  var path = url.pathname;
  // CSV exports stream straight from the server: never through here.
  return path === "/portal" || (path.indexOf("/portal/") === 0 && path !== "/portal/login"
                                && path !== "/portal/sw.js" && !/\.csv$/.test(path));
}

// Only a page's or fragment's own HTML is kept (checked before cloning: an unread
// clone would hold a whole download in memory).
function worthKeeping(response) {
  var type = response.headers.get("Content-Type") || "";
  return response.ok && !response.redirected && response.type === "basic"
    && type.indexOf("text/html") === 0;
}

function keep(url, response) {
  if (!worthKeeping(response)) { return Promise.resolve(); }
  return response.blob().then(function (body) {
    var headers = new Headers(response.headers);
    headers.set(STAMP, new Date().toISOString());
    var stamped = new Response(body, { status: response.status,
                                       statusText: response.statusText, headers: headers });
    return caches.open(PAGES).then(function (cache) {
      return cache.put(url.origin + url.pathname, stamped);
    });
  });
}

// The kept answer for `url` (for the start page /portal, which sends a user with one
// line on to it, the line page kept last), or undefined.
function kept(url, navigation) {
  return caches.open(PAGES).then(function (cache) {
    return cache.match(url.origin + url.pathname).then(function (hit) {
      if (hit || !navigation || url.pathname !== "/portal") { return hit; }
      return cache.keys().then(function (requests) {
        var pages = requests.filter(function (request) {
          var path = new URL(request.url).pathname;
          return path.indexOf("/portal/lines/") === 0 && !/\/live$/.test(path);
        });
        return pages.length ? cache.match(pages[pages.length - 1]) : undefined;
      });
    });
  });
}

// A kept page marked for app.js: <html data-offline-as-of="…"> (the CSP and other
// headers of the original answer are kept).
function marked(response) {
  return response.text().then(function (html) {
    var at = response.headers.get(STAMP) || "";
    var body = html.replace(/<html(\s|>)/i, '<html data-offline-as-of="' + at + '"$1');
    return new Response(body, { status: 200, headers: response.headers });
  });
}

function networkFirst(event, url) {
  var navigation = event.request.mode === "navigate";
  return fetch(event.request).then(function (response) {
    if (worthKeeping(response)) { event.waitUntil(keep(url, response.clone())); }
    return response;
  }, function () {
    return kept(url, navigation).then(function (hit) {
      if (!hit) { return Response.error(); }
      return navigation ? marked(hit) : hit;
    });
  });
}

function shellFirstFromNetwork(event) {
  return fetch(event.request).then(function (response) {
    if (response.ok && response.type === "basic") {
      var copy = response.clone();
      event.waitUntil(caches.open(SHELL).then(function (cache) {
        return cache.put(event.request, copy);
      }));
    }
    return response;
  }, function () {
    return caches.match(event.request, { cacheName: SHELL }).then(function (hit) {
      return hit || Response.error();
    });
  });
}

self.addEventListener("fetch", function (event) {
  var url = new URL(event.request.url);
  if (url.origin !== self.location.origin) { return; }
  if (event.request.method !== "GET") {
    if (url.pathname === "/portal/login" || url.pathname === "/portal/logout") {
      event.waitUntil(caches.delete(PAGES));
    }
    return;  // forms go to the server as they are
  }
  if (SHELL_FILES.indexOf(url.pathname) !== -1) {
    event.respondWith(shellFirstFromNetwork(event));
  } else if (keepable(url)) {
    event.respondWith(networkFirst(event, url));
  }
});

// app.js asks for the page it was loaded on before this worker controlled it (the
// first visit), so that page too is there offline.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (typeof data.keep !== "string") { return; }
  var url = new URL(data.keep, self.location.origin);
  if (!keepable(url)) { return; }
  event.waitUntil(fetch(url.href, { credentials: "same-origin" }).then(function (response) {
    return keep(url, response);
  }, function () { /* offline already: nothing to keep */ }));
});
