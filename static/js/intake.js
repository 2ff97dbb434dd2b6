// Phone intake: show matching callers while the clerk types (the page also works without JS).
(function () {
  var input = document.getElementById("phone");
  var panel = document.getElementById("callers");
  if (!input || !panel) { return; }
  var timer = null;
  var lookupUrl = window.location.pathname.replace(/\/$/, "") + "/lookup";
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var phone = input.value.trim();
    if (phone.length < 4) { return; }
    timer = setTimeout(function () {
      fetch(lookupUrl + "?phone=" + encodeURIComponent(phone), {credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) { if (html) { panel.innerHTML = html; } });
    }, 250);
  });
})();
