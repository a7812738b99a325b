// "Remind me later": sends a deferral with fetch (the form still works without script) and tells
// the page that embeds the prompt to hide it at once, with postMessage({type: "pledge:hide"}).
// Included by GET /remind, its confirmation page and the prompt fragment.
(function () {
  "use strict";

  // hide asks the embedding page (embed.js) to hide the prompt. The message carries no secret,
  // only the date until which the prompt stays quiet, so any target origin may receive it.
  // store false (protective mode) asks embed.js to keep nothing in the article site's storage.
  function hide(remindAt, store) {
    if (window.parent && window.parent !== window) {
      window.parent.postMessage({ type: "pledge:hide", remindAt: remindAt || "", store: store !== false }, "*");
    }
  }
  function stores(el) { return el.getAttribute("data-store") !== "0"; }

  function confirmation(body) {
    var when = new Date(body.remind_at);
    var date = isNaN(when) ? "" : when.toLocaleDateString(undefined, { day: "numeric", month: "long", year: "numeric" });
    var text = "Thank you. We won't ask you again until " + date + ".";
    if (body.email) {
      text += " We'll send you one reminder e-mail then.";
    }
    return text;
  }

  var done = document.querySelector("[data-pledge-hidden]");
  if (done) {
    hide(done.getAttribute("data-remind-at"), stores(done));
  }
  // The in-card confirmation (no script on the page before) stays until 8 seconds have passed.
  var cardDone = document.querySelector("[data-pledge-done]");
  if (cardDone) {
    setTimeout(function () { hide(cardDone.getAttribute("data-remind-at"), stores(cardDone)); }, 8000);
  }

  // confirmAndHide shows the confirmation inside the prompt's card until the reader closes it,
  // or for 8 seconds, then asks embed.js to hide the prompt.
  function confirmAndHide(status, body, form) {
    var panel = form.closest(".remind-panel");
    var closeText = form.getAttribute("data-close") || "Close";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "secondary";
    close.textContent = closeText;
    var gone = false;
    function finish() {
      if (gone) return;
      gone = true;
      hide(body.remind_at, body.store);
    }
    close.addEventListener("click", finish);
    status.appendChild(close);
    setTimeout(finish, 8000);
    if (panel) {
      var intro = panel.querySelector("p.small");
      if (intro) intro.hidden = true;
    }
  }

  document.querySelectorAll("form[data-pledge-remind]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.fetch || !window.FormData || !window.URLSearchParams) {
        return;
      }
      ev.preventDefault();
      var status = document.getElementById(form.getAttribute("data-status") || "remind-status");
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
      }
      fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin"
      }).then(function (resp) {
        return resp.json().then(function (body) {
          return { status: resp.status, body: body };
        });
      }).then(function (res) {
        if (button) {
          button.disabled = false;
        }
        if (res.status === 201) {
          form.hidden = true;
          status.textContent = res.body.message || confirmation(res.body);
          status.setAttribute("data-state", "done");
          if (document.querySelector(".prompt-card")) {
            confirmAndHide(status, res.body, form);
          } else {
            hide(res.body.remind_at);
          }
        } else {
          var msg = res.body && res.body.error && res.body.error.message;
          status.textContent = msg || "Something went wrong. Please try again.";
          status.setAttribute("data-state", "error");
        }
        status.focus();
      }).catch(function () {
        form.submit(); // fall back to the plain form post
      });
    });
  });
})();
