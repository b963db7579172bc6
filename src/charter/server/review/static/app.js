// Charter review: behaviour shared by every page (no framework, no network beyond this app).
(function () {
  "use strict";

  var csrf = document.querySelector('meta[name="csrf-token"]');
  window.charterCsrf = csrf ? csrf.content : "";

  // Flash notices fade after a few seconds.
  document.querySelectorAll(".flash").forEach(function (el) {
    setTimeout(function () { el.classList.add("fade"); }, 3500);
    setTimeout(function () { el.remove(); }, 4200);
  });

  // "Go back" links on error pages use history when there is one.
  document.querySelectorAll("[data-back]").forEach(function (el) {
    el.addEventListener("click", function (event) {
      if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
    });
  });

  // Wellness mode: toggled in place (the form still works without JavaScript).
  var form = document.getElementById("wellness-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(form.action, {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": window.charterCsrf },
        body: new FormData(form)
      }).then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
        .then(function (data) {
          document.body.classList.toggle("wellness", data.wellness);
          document.querySelectorAll(".revealed").forEach(function (z) { z.classList.remove("revealed"); });
          var button = document.getElementById("wellness-toggle");
          button.classList.toggle("on", data.wellness);
          button.setAttribute("aria-pressed", data.wellness ? "true" : "false");
        })
        .catch(function () { form.submit(); });
    });
  }

  // Hidden content is revealed by a click on its cover.
  document.querySelectorAll("[data-reveal-button]").forEach(function (button) {
    button.addEventListener("click", function () { button.closest("[data-reveal]").classList.add("revealed"); });
  });
  document.querySelectorAll(".clip").forEach(function (clip) {
    clip.addEventListener("click", function () { clip.classList.add("revealed"); });
  });
  window.charterRevealAll = function () {
    document.querySelectorAll("[data-reveal]").forEach(function (z) { z.classList.add("revealed"); });
  };

  // Dialogs: [data-open=id] opens, [data-close] closes.
  document.querySelectorAll("[data-open]").forEach(function (button) {
    button.addEventListener("click", function () {
      var dialog = document.getElementById(button.getAttribute("data-open"));
      if (dialog && !dialog.open) { dialog.showModal(); }
    });
  });
  document.querySelectorAll("dialog [data-close]").forEach(function (button) {
    button.addEventListener("click", function () { button.closest("dialog").close(); });
  });

  // The dashboard starts labeling on Enter.
  var start = document.getElementById("start") || document.getElementById("resume");
  if (start) {
    document.addEventListener("keydown", function (event) {
      var tag = (event.target.tagName || "").toLowerCase();
      if (event.key === "Enter" && !event.ctrlKey && !event.metaKey && tag !== "input" && tag !== "textarea" &&
          tag !== "button" && tag !== "select" && tag !== "a" && !start.disabled) {
        event.preventDefault();
        start.click();
      }
    });
  }
})();
