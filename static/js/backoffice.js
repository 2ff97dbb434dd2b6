// Page behaviour that the Content-Security-Policy allows: no inline onclick handlers.
//   data-action="print"         prints the page (receipts, statements, picking lists)
//   data-model-action="delete"  runs a Flask-Admin bulk action on the ticked rows
//   data-confirm="..."          asks before the button's form is sent
//   a.filter                    Flask-Admin's "Add filter" menu (its own script adds the filter)
(function () {
  // Flask-Admin's menus link to "javascript:void(0)": a navigation the policy blocks (and
  // reports). Their own scripts still run; only the empty navigation is cancelled.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href^='javascript:']");
    if (link) { event.preventDefault(); }
  }, true);
  document.addEventListener("click", function (event) {
    var target = event.target.closest &&
      event.target.closest("[data-action=print], [data-model-action], [data-confirm], a.dropdown-item.filter");
    if (!target) { return; }
    if (target.matches("a.dropdown-item.filter")) {
      event.preventDefault();
    } else if (target.getAttribute("data-action") === "print") {
      event.preventDefault();
      window.print();
    } else if (target.hasAttribute("data-model-action")) {
      event.preventDefault();
      if (window.modelActions) { window.modelActions.execute(target.getAttribute("data-model-action")); }
    } else if (!window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();

// data-fragment="URL": a slow part of a page (the manager's outlet ranking) is fetched after the
// page and replaces the element's content; if it fails, the element keeps its link.
(function () {
  function load(element) {
    fetch(element.getAttribute("data-fragment"), {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) { element.innerHTML = html; element.setAttribute("data-loaded", "1"); })
      .catch(function () { element.setAttribute("data-loaded", "failed"); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-fragment]").forEach(load);
  });
})();
