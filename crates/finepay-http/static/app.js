// finepay: a little JavaScript on top of pages that work without it.
// 1. The decision number field: groups of four as you type, and format/check-digit feedback.
// 2. The pay button: one submit (the server is idempotent anyway).
// 3. Live regions: the inbox and a payment's page refresh themselves from the SSE stream.
(function () {
  "use strict";

  // A page answered to a POST (a form shown again with its errors) becomes a plain GET entry of
  // the history, so Back and Reload fetch the page as it is now instead of posting again.
  if (window.history.replaceState) window.history.replaceState(null, "", location.href);

  var summary = document.querySelector("[data-focus]");
  if (summary) summary.focus();

  var input = document.querySelector("[data-number-input]");
  var live = document.querySelector("[data-number-live]");
  if (input && live) {
    var timer = null;
    var group = function (digits) { return digits.replace(/(\d{4})(?=\d)/g, "$1 "); };
    input.addEventListener("input", function () {
      var raw = input.value;
      var digits = raw.replace(/\s+/g, "");
      if (/^\d*$/.test(digits)) {
        var caretAtEnd = input.selectionStart === raw.length;
        input.value = group(digits);
        if (caretAtEnd) input.setSelectionRange(input.value.length, input.value.length);
      }
      clearTimeout(timer);
      if (!digits) { live.textContent = ""; live.className = "live-hint"; return; }
      timer = setTimeout(function () {
        fetch("/fines/check?number=" + encodeURIComponent(digits), { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (a) {
            if (input.value.replace(/\s+/g, "") !== digits) return;
            live.textContent = a.message;
            live.className = "live-hint " + (a.valid ? "ok" : a.error ? "bad" : "");
          })
          .catch(function () {});
      }, 150);
    });
  }

  var payForm = document.querySelector("[data-pay-form]");
  if (payForm) {
    payForm.addEventListener("submit", function (e) {
      var button = payForm.querySelector("[data-pay-button]");
      if (payForm.dataset.sent) { e.preventDefault(); return; }
      payForm.dataset.sent = "1";
      if (button) { button.setAttribute("aria-disabled", "true"); button.classList.add("busy"); }
    });
    // Back to a page kept by the browser: allow paying again (the server says if it is paid).
    window.addEventListener("pageshow", function () { delete payForm.dataset.sent; });
  }

  var region = document.querySelector("[data-live-region]");
  if (region && window.EventSource) {
    var payment = region.getAttribute("data-payment");
    var refresh = function () {
      fetch(location.href, { credentials: "same-origin", headers: { accept: "text/html" } })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.querySelector("[data-live-region]");
          if (!fresh) return;
          var known = {};
          region.querySelectorAll("[data-notification]").forEach(function (n) { known[n.id] = true; });
          region.innerHTML = fresh.innerHTML;
          region.querySelectorAll("[data-notification]").forEach(function (n) {
            if (!known[n.id]) n.classList.add("arrived");
          });
          poll();
        })
        .catch(function () {});
    };
    // A card still being checked by its bank is asked about every 2 s until it is settled.
    var polling = null;
    var poll = function () {
      clearTimeout(polling);
      if (region.querySelector("[data-poll]")) polling = setTimeout(refresh, 2000);
    };
    poll();
    var source = new EventSource("/api/v1/notifications/stream");
    var onEvent = function (e) {
      var n = null;
      try { n = JSON.parse(e.data); } catch (_) { return; }
      if (payment && n.payment_id !== payment) return;
      refresh();
    };
    ["notification", "message", "violation.recorded", "decision.issued", "decision.revoked",
      "decision.due_soon", "decision.overdue", "payment.confirmed", "payment.refunded"]
      .forEach(function (kind) { source.addEventListener(kind, onEvent); });
    // Whatever happened between rendering and connecting is fetched once the stream is open.
    source.addEventListener("open", refresh);
  }
})();
