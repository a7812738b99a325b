// The donation form's progressive enhancement: switching frequency swaps the preset amounts in
// place, "Other amount" and the presets exclude each other, the fee-cover label and Continue
// follow the amount, amounts are checked before the round trip (by the rules of
// pledge.ParseAmount and the catalogue's limits: testdata/amounts.json drives both), and inside
// an article's frame every step stays in the card and the page tells embed.js its height.
// Without this file the form still works by posts.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // parseAmount reads an amount as pledge.ParseAmount does: {minor} or {err} (the message key).
  function parseAmount(s, decimals, symbol, code) {
    s = s.trim();
    if (symbol) {
      var sym = symbol.trim();
      if (s.indexOf(sym) === 0) s = s.slice(sym.length).trim();
      if (sym && s.slice(-sym.length) === sym) s = s.slice(0, -sym.length).trim();
    }
    if (code) {
      if (s.indexOf(code) === 0) s = s.slice(code.length).trim();
      if (s.slice(-code.length) === code) s = s.slice(0, -code.length).trim();
    }
    if (s === "") return { err: "empty" };
    if (s[0] === "-" || s[0] === "\u2212") return { err: "negative" };
    if (!/^[0-9.,]+$/.test(s)) return { err: "number" };
    var plain = normalise(s);
    if (plain === null) return { err: "number" };
    var parts = plain.split(".");
    var whole = parts[0], frac = parts.length > 1 ? parts[1] : "";
    if (frac.length > decimals) return { err: decimals === 0 ? "whole" : "decimals" };
    if (whole === "" && frac === "") return { err: "number" };
    if (whole.length > 12) return { err: "number" };
    while (frac.length < decimals) frac += "0";
    return { minor: parseInt(whole || "0", 10) * Math.pow(10, decimals) + (frac ? parseInt(frac, 10) : 0) };
  }

  function count(s, ch) { return s.split(ch).length - 1; }

  function ungroup(s, sep) {
    var parts = s.split(sep);
    if (parts[0].length === 0 || parts[0].length > 3) return null;
    for (var i = 1; i < parts.length; i++) if (parts[i].length !== 3) return null;
    return parts.join("");
  }

  function normalise(s) {
    var dots = count(s, "."), commas = count(s, ",");
    if (commas === 0 && dots <= 1) return s;
    if (commas === 0) return null;
    if (dots === 0 && commas === 1) {
      var i = s.indexOf(","), whole = s.slice(0, i), frac = s.slice(i + 1);
      if (frac.length === 3) return ungroup(s, ",");
      if (whole !== "" && frac.length >= 1 && frac.length <= 2) return whole + "." + frac;
      return null;
    }
    if (dots === 0) return ungroup(s, ",");
    var dec = s.lastIndexOf(".") > s.lastIndexOf(",") ? "." : ",", grp = dec === "." ? "," : ".";
    var j = s.lastIndexOf(dec), w = s.slice(0, j);
    if (count(w, dec) !== 0) return null;
    var u = ungroup(w, grp);
    return u === null ? null : u + "." + s.slice(j + 1);
  }
  // validate reads an amount typed for a currency (a catalogue as window.PledgeCatalogue holds it) and
  // frequency, and applies the tier's limits: {minor} or {err} ("number", "min", "max", ...).
  // Not the fee cover's limit: the server checks that, and the card shows its answer.
  function validate(value, c, f) {
    var r = parseAmount(value, c.decimals, c.symbol, c.currency);
    if (r.err) return r;
    var tier = c.tiers[f];
    if (tier && r.minor < tier.min) return { minor: r.minor, err: "min" };
    if (tier && r.minor > tier.max) return { minor: r.minor, err: "max" };
    return r;
  }
  window.PledgeAmount = { parse: parseAmount, validate: validate };

  // Inside an article's frame, tell embed.js our height whenever it changes (every step of the
  // card: the amounts, the remind panel, its confirmation).
  var card = document.querySelector(".prompt-card[data-embed]");
  function resize() {
    if (!card || window.parent === window) return;
    // The frame's title (what a screen reader announces for it) in the prompt's language.
    window.parent.postMessage({ pledge: "height", height: document.documentElement.scrollHeight,
      title: card.getAttribute("data-frame-title") || "" }, "*");
  }
  if (card) {
    if (window.ResizeObserver) new ResizeObserver(resize).observe(document.body);
    window.addEventListener("load", resize);
    resize();
  }

  var form = document.querySelector("form.giving");
  if (!form) return;
  // The catalogue (this currency's tiers and words) comes in its own cached script, loaded
  // before this one.
  var cat = window.PledgeCatalogue;
  if (!cat) return;
  var presets = form.querySelector("[data-presets]");
  var other = form.querySelector("#other_amount");
  var hint = form.querySelector("#other-hint");
  var error = form.querySelector("#amount-error");
  var feeLabel = form.querySelector("[data-fee-label]");
  var ask = form.querySelector("[data-ask]");
  var currency = form.querySelector("#currency");
  var cont = form.querySelector("button.continue");
  var embed = form.getAttribute("data-embed") === "1";

  function frequency() {
    var f = form.querySelector("input[name=frequency]:checked");
    return f ? f.value : "monthly";
  }

  function fill(s, vals) {
    return s.replace(/\{(\w+)\}/g, function (m, k) { return k in vals ? vals[k] : m; });
  }

  // money writes minor units as the server does for this language (pattern, decimal sign, grouping).
  function money(minor) {
    var d = cat.decimals, s = (minor / Math.pow(10, d)).toFixed(d);
    var parts = s.split("."), whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, cat.group);
    var n = parts.length > 1 ? whole + cat.point + parts[1] : whole;
    if (cat.digits) {
      var ds = Array.from(cat.digits);
      n = n.replace(/[0-9]/g, function (c) { return ds[+c]; });
    }
    return fill(cat.pattern, { amount: n, symbol: cat.symbol.trim() });
  }

  function cover(minor) {
    if (!cat.fees || !minor) return 0;
    var den = 10000 - cat.feeBps;
    return Math.ceil((minor + cat.feeFixed) * 10000 / den) - minor;
  }

  // check returns the chosen amount in minor units and the message of what is wrong with it.
  function check() {
    var tier = cat.tiers[frequency()];
    if (other && other.value.trim() !== "") {
      var r = validate(other.value, cat, frequency());
      if (r.err === "min") return { minor: r.minor, msg: tier.minMsg };
      if (r.err === "max") return { minor: r.minor, msg: tier.maxMsg };
      if (r.err) return { msg: cat.text[r.err] };
      return { minor: r.minor, label: money(r.minor) };
    }
    var p = form.querySelector("input[name=amount]:checked");
    if (!p) return { msg: cat.text.empty };
    var pr = parseAmount(p.value, cat.decimals, "", "");
    return { minor: pr.minor, label: p.getAttribute("data-amount") };
  }

  function update() {
    var c = check(), tier = cat.tiers[frequency()];
    if (feeLabel && c.minor && !c.msg) feeLabel.textContent = fill(cat.text.cover, { fee: money(cover(c.minor)) });
    if (cont && tier) cont.textContent = c.msg || !c.label ? cat.text["continue"] : fill(tier["continue"], { amount: c.label });
  }

  function showError(msg) {
    error.textContent = msg || "";
    if (msg) { other.setAttribute("aria-invalid", "true"); } else { other.removeAttribute("aria-invalid"); }
  }

  function drawPresets() {
    var tier = cat.tiers[frequency()];
    if (!tier) return;
    while (presets.firstChild) presets.removeChild(presets.firstChild);
    tier.presets.forEach(function (p, i) {
      var input = document.createElement("input");
      input.type = "radio"; input.name = "amount"; input.id = "amount-" + i; input.value = p.value;
      input.setAttribute("data-fee", p.fee); input.setAttribute("data-amount", p.amount);
      input.checked = p.value === tier["default"] && other.value.trim() === "";
      var label = document.createElement("label");
      label.htmlFor = input.id; label.textContent = p.label;
      if (p.highlight) {
        var h = document.createElement("span");
        h.className = "highlight"; h.textContent = cat.text.highlight;
        label.appendChild(document.createTextNode(" ")); label.appendChild(h);
      }
      presets.appendChild(input); presets.appendChild(label);
    });
    hint.textContent = tier.hint;
    if (ask) ask.textContent = tier.ask;
    showError("");
    update();
  }

  form.addEventListener("change", function (e) {
    var t = e.target;
    if (t.name === "frequency") drawPresets();
    if (t.name === "amount") { other.value = ""; showError(""); update(); }
    if (t === currency) {
      // A new currency means new amounts: ask for the form again in it. It is not a new view.
      var q = new URLSearchParams();
      q.set("currency", currency.value);
      q.set("frequency", frequency());
      ["article", "campaign", "source", "lang"].forEach(function (k) {
        var v = form.elements[k] && form.elements[k].value;
        if (v) q.set(k, v);
      });
      if (embed) q.set("change", "1");
      location.assign((embed ? "/prompt?" : "/donate?") + q.toString());
    }
  });

  other.addEventListener("input", function () {
    if (other.value.trim() !== "") {
      form.querySelectorAll("input[name=amount]").forEach(function (r) { r.checked = false; });
    }
    showError("");
    update();
  });

  // Continue goes once: a second click while Stripe's page is being made would only queue a
  // duplicate request. Coming back (the back button, the page restored from cache) re-enables it.
  var sent = false;
  function ready() {
    sent = false;
    if (cont) { cont.disabled = false; cont.removeAttribute("aria-busy"); }
  }
  window.addEventListener("pageshow", ready);

  // formError shows a message about the whole form at its top, inside the card.
  function formError(msg) {
    var p = form.querySelector("#form-error");
    if (!p) {
      p = document.createElement("p");
      p.className = "form-error"; p.id = "form-error"; p.setAttribute("role", "alert");
      form.insertBefore(p, form.querySelector("fieldset"));
    }
    p.textContent = msg;
  }

  // refused shows the server's answer beside the field it is about, or at the top of the form.
  function refused(err) {
    var msg = (err && err.message) || cat.text.failed;
    if (err && (err.field === "amount" || err.field === "other_amount")) {
      showError(msg);
      other.focus();
    } else {
      formError(msg);
    }
    resize();
  }

  // leave takes the article's window to the payment page. A browser that does not let a frame
  // move its top window without a fresh click gets the link in the card instead.
  function leave(url) {
    url = new URL(url, location.href).href;
    try { window.top.location.href = url; } catch (e) { /* offered below */ }
    setTimeout(function () {
      var a = form.querySelector("a.leave");
      if (!a) {
        a = document.createElement("a");
        a.className = "button leave"; a.target = "_top"; a.textContent = cat.text.toPayment;
        cont.parentNode.insertBefore(a, cont.nextSibling);
        cont.hidden = true;
        resize();
      }
      a.href = url;
      a.focus();
    }, 1500);
  }

  // send posts the gift from inside the frame and reads the answer: where to go, or why not.
  // The server may refuse what the check above let through (the fee cover above the maximum, a
  // limit, an expired form): its message shows in the card, and the article stays.
  function send() {
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "application/json" },
      credentials: "same-origin"
    }).then(function (resp) {
      return resp.json().then(function (body) { return { status: resp.status, body: body }; });
    }).then(function (res) {
      if (res.status === 200 && res.body && res.body.url) { leave(res.body.url); return; }
      ready();
      refused(res.body && res.body.error);
    }).catch(function () {
      ready();
      refused(null);
    });
  }

  form.addEventListener("submit", function (e) {
    var s = e.submitter;
    if (s && s.name === "step") { form.removeAttribute("target"); return; }
    if (sent) { e.preventDefault(); return; }
    var c = check();
    if (c.msg) {
      e.preventDefault();
      showError(c.msg);
      other.focus();
      return;
    }
    var fetching = embed && window.fetch && window.FormData && window.URLSearchParams;
    if (fetching) e.preventDefault();
    var old = form.querySelector("#form-error");
    if (old) old.textContent = "";
    sent = true;
    setTimeout(function () {
      if (cont && sent) { cont.disabled = true; cont.setAttribute("aria-busy", "true"); }
    }, 0);
    // Inside the frame the gift is posted from here, so every answer but "go and pay" stays in
    // the card; without script the form posts inside the frame and the server answers there.
    if (fetching) send();
  });

  // "Remind me later" opens a panel inside the card; Back returns to the amounts.
  var panel = document.getElementById("remind-panel");
  var opener = form.querySelector("[data-remind-open]");
  if (panel && opener) {
    opener.addEventListener("click", function (e) {
      e.preventDefault();
      form.hidden = true;
      panel.hidden = false;
      panel.querySelector("h2").focus();
    });
    var back = panel.querySelector("[data-remind-back]");
    if (back) back.addEventListener("click", function (e) {
      e.preventDefault();
      panel.hidden = true;
      form.hidden = false;
      opener.focus();
    });
  }

  // A long letter folds on narrow screens only: on wide ones it is open.
  var more = form.querySelector("details.letter-more");
  if (more && window.matchMedia && window.matchMedia("(min-width: 560px)").matches) more.open = true;
  update();
})();
