// The donation form's progressive enhancement: switching frequency swaps the preset amounts in
// place, "Other amount" and the presets exclude each other, the fee-cover label follows the
// amount, amounts below the minimum are caught before the round trip, and inside an article's
// frame the page tells embed.js how tall it is. Without this file the form still works by posts.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var form = document.querySelector("form.giving");
  if (!form) return;
  var cat;
  try { cat = JSON.parse(form.getAttribute("data-catalogue")); } catch (e) { return; }
  var presets = form.querySelector("[data-presets]");
  var other = form.querySelector("#other_amount");
  var hint = form.querySelector("#other-hint");
  var error = form.querySelector("#amount-error");
  var feeBox = form.querySelector("#cover_fees");
  var feeLabel = form.querySelector("[data-fee-label]");
  var currency = form.querySelector("#currency");
  var embed = form.getAttribute("data-embed") === "1";

  function frequency() {
    var f = form.querySelector("input[name=frequency]:checked");
    return f ? f.value : "monthly";
  }

  function money(minor) {
    var d = cat.decimals, s = (minor / Math.pow(10, d)).toFixed(d);
    return cat.after ? s + cat.symbol : cat.symbol + s;
  }

  // parse reads the plain forms ("5", "5.50", "5,50"); anything fancier is left to the server.
  function parse(s) {
    s = s.trim().replace(cat.symbol.trim(), "").trim();
    var m = /^(\d{1,9})(?:[.,](\d{1,2}))?$/.exec(s);
    if (!m || (m[2] && cat.decimals === 0)) return null;
    var frac = (m[2] || "").padEnd(cat.decimals, "0");
    return parseInt(m[1], 10) * Math.pow(10, cat.decimals) + (frac ? parseInt(frac, 10) : 0);
  }

  function cover(minor) {
    if (!cat.fees || !minor) return 0;
    var den = 10000 - cat.feeBps;
    return Math.ceil((minor + cat.feeFixed) * 10000 / den) - minor;
  }

  function chosen() {
    if (other && other.value.trim() !== "") return parse(other.value);
    var p = form.querySelector("input[name=amount]:checked");
    return p ? parse(p.value) : null;
  }

  function updateFee() {
    if (!feeLabel) return;
    var n = chosen();
    if (n) feeLabel.textContent = money(cover(n));
  }

  function showError(msg) {
    error.textContent = msg;
    if (msg) { other.setAttribute("aria-invalid", "true"); } else { other.removeAttribute("aria-invalid"); }
    resize();
  }

  function drawPresets() {
    var tier = cat.tiers[frequency()];
    if (!tier) return;
    while (presets.firstChild) presets.removeChild(presets.firstChild);
    tier.presets.forEach(function (p, i) {
      var input = document.createElement("input");
      input.type = "radio"; input.name = "amount"; input.id = "amount-" + i; input.value = p.value;
      input.checked = p.value === tier.default && other.value.trim() === "";
      var label = document.createElement("label");
      label.htmlFor = input.id; label.textContent = p.label;
      presets.appendChild(input); presets.appendChild(label);
    });
    hint.textContent = tier.hint;
    showError("");
    updateFee();
  }

  form.addEventListener("change", function (e) {
    var t = e.target;
    if (t.name === "frequency") drawPresets();
    if (t.name === "amount") { other.value = ""; showError(""); updateFee(); }
    if (t === currency) {
      // A new currency means new amounts: ask for the form again in it.
      var q = new URLSearchParams();
      q.set("currency", currency.value);
      q.set("frequency", frequency());
      ["article", "campaign", "source"].forEach(function (k) {
        var v = form.elements[k] && form.elements[k].value;
        if (v) q.set(k, v);
      });
      location.assign((embed ? "/prompt?" : "/donate?") + q.toString());
    }
  });

  other.addEventListener("input", function () {
    if (other.value.trim() !== "") {
      form.querySelectorAll("input[name=amount]").forEach(function (r) { r.checked = false; });
    }
    showError("");
    updateFee();
  });

  // Continue goes once: a second click while Stripe's page is being made would only queue a
  // duplicate request. Coming back (the back button, the page restored from cache) re-enables it.
  var cont = form.querySelector("button.continue");
  var sent = false;
  function ready() {
    sent = false;
    if (cont) { cont.disabled = false; cont.removeAttribute("aria-busy"); }
  }
  window.addEventListener("pageshow", ready);

  form.addEventListener("submit", function (e) {
    var s = e.submitter;
    if (s && s.name === "step") return;
    if (sent) { e.preventDefault(); return; }
    if (other && other.value.trim() !== "") {
      var n = parse(other.value), tier = cat.tiers[frequency()];
      var msg = n === null || !tier ? "" : n < tier.min ? tier.minMsg : n > tier.max ? tier.maxMsg : "";
      if (msg) { // anything else the server explains
        e.preventDefault();
        showError(msg);
        other.focus();
        return;
      }
    }
    sent = true;
    // After this event, so the submission itself is not affected by the disabled button.
    setTimeout(function () {
      if (cont && sent) { cont.disabled = true; cont.setAttribute("aria-busy", "true"); }
    }, 0);
  });

  // Inside an article's frame, tell embed.js our height whenever it changes.
  function resize() {
    if (!embed || window.parent === window) return;
    window.parent.postMessage({ pledge: "height", height: document.documentElement.scrollHeight }, "*");
  }
  if (embed) {
    if (window.ResizeObserver) new ResizeObserver(resize).observe(document.body);
    window.addEventListener("load", resize);
    resize();
  }
})();
