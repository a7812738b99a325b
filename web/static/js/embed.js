// Pledge's embed script. On an article page:
//   <div data-pledge-prompt></div>
//   <script src="https://support.news.example/embed.js" data-article="https://news.example/story" async></script>
// It frames the prompt in each [data-pledge-prompt] element, sizes the frame to the prompt's
// height, and keeps the element hidden when the prompt answers 204 (nothing to show). When the
// reader chooses "Remind me later" in the frame, it hides the prompt and remembers until when in
// this site's own storage, so the choice holds where a browser blocks third-party cookies (not
// in protective mode, when the message says store: false).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var base = new URL(script.src).origin;
  var KEY = "pledge:hiddenUntil";

  function deferred() {
    try {
      var until = Date.parse(window.localStorage.getItem(KEY) || "");
      return until > Date.now();
    } catch (e) {
      return false;
    }
  }

  function remember(until) {
    try {
      if (until) window.localStorage.setItem(KEY, until);
    } catch (e) { /* storage blocked: the cookie still holds on Pledge's side */ }
  }

  function opt(el, name) {
    return el.getAttribute("data-" + name) || script.getAttribute("data-" + name) || "";
  }

  function mount(el) {
    if (el.getAttribute("data-pledge-state")) return;
    el.setAttribute("data-pledge-state", "loading");
    el.hidden = true; // shown once the prompt says it has something to show
    if (deferred()) {
      el.setAttribute("data-pledge-state", "deferred");
      return;
    }
    var q = new URLSearchParams();
    // The article without its query string and fragment: tracking tails are not part of it.
    q.set("article", (opt(el, "article") || location.href).split("#")[0].split("?")[0]);
    // The headline, for the staff's funnel (stored as plain text, never as HTML).
    var title = (opt(el, "title") || document.title || "").replace(/\s+/g, " ").trim().slice(0, 200);
    if (title) q.set("title", title);
    ["campaign", "currency", "frequency"].forEach(function (k) {
      var v = opt(el, k);
      if (v) q.set(k, v);
    });
    // The reader's language: data-lang, else the article page's own lang.
    var lang = opt(el, "lang") || document.documentElement.lang;
    if (lang) q.set("lang", lang);
    var frame = document.createElement("iframe");
    frame.src = base + "/prompt?" + q.toString();
    frame.title = "Support our journalism"; // until the prompt says it in the reader's language
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.height = "0";
    frame.style.display = "block";
    var done = false; // once the reader has deferred, no later message shows the prompt again
    window.addEventListener("message", function (e) {
      if (e.origin !== base || e.source !== frame.contentWindow || done) return;
      var d = e.data;
      if (d && d.type === "pledge:hide") {
        done = true;
        el.hidden = true;
        el.setAttribute("data-pledge-state", "deferred");
        if (d.store !== false) remember(d.remindAt); // protective mode: nothing kept here
        return;
      }
      if (!d || d.pledge !== "height" || typeof d.height !== "number") return;
      // Once hidden for the reader's deferral, it stays hidden: the frame, resized by its own
      // hiding, still reports its height.
      if (el.getAttribute("data-pledge-state") === "deferred") return;
      frame.style.height = Math.ceil(d.height) + "px";
      if (typeof d.title === "string" && d.title) frame.title = d.title;
      el.hidden = false;
      el.setAttribute("data-pledge-state", "shown");
    });
    el.appendChild(frame);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-pledge-prompt]"), mount);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
