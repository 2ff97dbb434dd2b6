// The ticket page (views/templates/admin/ticket_header.html, ticket_steps.html), issue 18.
// Without this script the page still works: the countdown keeps the server's text and every
// step's form is shown.
(function () {
  // The next SLA deadline counts down: "in 2 h 05 min", then "overdue 35 min", from two days on
  // "overdue 55 d 14 h" (as views/tickets.countdown_text). The wordings come translated in
  // data-{in,over}-{dh,hm,m} with {d}, {h} and {m} to fill.
  var DAYS_FROM_HOURS = 48;
  function countdown(badge) {
    var left = Date.parse(badge.getAttribute("data-due")) - Date.now();
    if (isNaN(left)) { return; }  // a browser that cannot read the time keeps the server's text
    var minutes = Math.floor(Math.abs(left) / 60000);
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    var side = "data-" + (left < 0 ? "over" : "in");
    if (hours >= DAYS_FROM_HOURS && badge.hasAttribute(side + "-dh")) {
      badge.textContent = badge.getAttribute(side + "-dh").replace("{d}", Math.floor(hours / 24)).replace("{h}", hours % 24);
    } else {
      var wording = badge.getAttribute(side + (hours ? "-hm" : "-m"));
      badge.textContent = wording.replace("{h}", hours).replace("{m}", hours && minutes < 10 ? "0" + minutes : minutes);
    }
    var soon = Number(badge.getAttribute("data-soon")) * 1000;
    var state = left < 0 ? "breached" : (left <= soon ? "due_soon" : "running");
    badge.classList.remove("sla-running", "sla-due_soon", "sla-breached");
    badge.classList.add("sla-" + state);
  }

  function tick() {
    document.querySelectorAll("[data-testid=sla-countdown][data-due]").forEach(countdown);
  }

  // Each next step's button opens its form in place and closes the others.
  function show(form, open) {
    form.hidden = !open;
    var button = document.querySelector("[data-step-open='" + form.getAttribute("data-step") + "']");
    if (button) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.classList.toggle("active", open);
    }
  }

  function setUpSteps() {
    var buttons = document.querySelector("[data-step-buttons]");
    if (!buttons) { return; }
    var forms = document.querySelectorAll("form.workflow-step");
    forms.forEach(function (form) { show(form, form.hasAttribute("data-open")); });
    buttons.hidden = false;
    buttons.addEventListener("click", function (event) {
      var button = event.target.closest("[data-step-open]");
      if (!button) { return; }
      var chosen = document.getElementById(button.getAttribute("aria-controls"));
      var opening = chosen.hidden;
      forms.forEach(function (form) { show(form, opening && form === chosen); });
      if (opening) {
        var first = chosen.querySelector("input:not([type=hidden]), select, textarea, button");
        if (first) { first.focus(); }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpSteps();
    tick();
    window.setInterval(tick, 20000);
  });
})();
