// keygate console: refresh the live panels ([data-live] with an id) every
// 5 seconds by fetching the page again; everything else works without it.
"use strict";
(function () {
  document.documentElement.dataset.js = "on";
  if (!document.querySelector("[data-live]")) {
    return;
  }
  async function refresh() {
    if (document.visibilityState !== "visible") {
      return;
    }
    let resp;
    try {
      resp = await fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
    } catch (e) {
      return;
    }
    if (!resp.ok) {
      return;
    }
    const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
    for (const el of document.querySelectorAll("[data-live][id], #now, #version")) {
      const fresh = doc.getElementById(el.id);
      if (fresh) {
        el.replaceWith(document.importNode(fresh, true));
      }
    }
    document.documentElement.dataset.refreshed = String(Date.now());
  }
  setInterval(refresh, 5000);
})();
