// Drafts: a form marked data-draft (with its hidden draft_key field) is saved on the server as it is
// typed, a moment after each change, so nothing typed is lost when the login times out or the tab
// closes (cadenza.clinic.drafts). Served from 'self' under the CSP: no inline script, no eval.
(function () {
  "use strict";

  var DELAY_MS = 1200;

  function timeNow() {
    return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function attach(form) {
    var status = form.querySelector("[data-draft-status]");
    var timer = null;
    var inFlight = null;
    var changed = false;
    var submitting = false;

    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }

    function send(keepalive) {
      timer = null;
      if (submitting || !changed) {
        return inFlight || Promise.resolve();
      }
      changed = false;
      var body = new URLSearchParams();
      new FormData(form).forEach(function (value, name) {
        if (typeof value === "string") {
          body.append(name, value);
        }
      });
      var request = fetch("/drafts", {
        method: "POST",
        body: body,
        credentials: "same-origin",
        keepalive: keepalive === true,
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (response.ok) {
          say("Draft kept at " + timeNow() + ".");
          return;
        }
        return response.json().then(function (answer) {
          if (response.status === 401 && answer.draft_kept) {
            say("Draft kept at " + timeNow() + ". Your login has timed out: you will be asked to log in " +
                "when you save, and the form comes back with this text.");
          } else if (response.status === 401) {
            say("Your login has timed out and this draft could not be kept. Copy your text before you leave the page.");
          } else {
            say("Draft not kept: " + (answer.detail || response.status));
          }
        });
      }).catch(function () {
        changed = true;  // try again with the next change
        say("Draft not kept (no connection); the text is still in the form.");
      }).then(function () {
        inFlight = null;
      });
      inFlight = request;
      return request;
    }

    function later() {
      changed = true;
      if (timer !== null) {
        clearTimeout(timer);
      }
      timer = setTimeout(send, DELAY_MS);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("submit", function (event) {
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      submitting = true;
      // A draft still on its way could land after the saved form discarded it: send the form after it.
      if (inFlight) {
        event.preventDefault();
        var submitter = event.submitter;
        inFlight.then(function () {
          inFlight = null;
          form.requestSubmit(submitter);
        });
      }
    });
    window.addEventListener("pagehide", function () {
      if (changed && !submitting) {
        send(true);
      }
    });
  }

  function start() {
    document.querySelectorAll("form[data-draft]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
