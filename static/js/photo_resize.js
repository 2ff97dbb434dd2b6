// Photos made smaller in the browser before they are sent (issue 18: the engineer on a phone,
// the customer's /report). A phone camera's picture is 3-10 MB: more than the 5 MB a file may
// have and the 6 MB a request may carry, and slow over a mobile connection.
//
// <input type="file" data-resize-max="1600">: each JPEG, PNG or WebP picture chosen whose longer
// side exceeds 1600 px or whose size exceeds 1 MB is redrawn at most 1600 px long and sent as a
// JPEG instead. Other files (PDF, text) pass untouched, and whenever anything fails the file the
// user chose is sent as it was: the server checks every file anyway, with or without this script.
//   data-resize-status="…"  the (translated) "Preparing photo…" shown while it works
//   data-autosubmit         the form is sent as soon as the photo is ready ("Take a photo")
(function () {
  "use strict";
  var RESIZABLE = ["image/jpeg", "image/png", "image/webp"];
  // The server takes no HEIC; a browser that can read one (Safari) turns it into a JPEG.
  var CONVERT = ["image/heic", "image/heif"];
  var BIG = 1024 * 1024;
  var QUALITY = 0.85;

  // A phone stores a portrait photo as landscape pixels plus an EXIF orientation flag: it must
  // be applied before drawing, or the engineer's photo lands on its side.
  function decode(file) {
    if (!window.createImageBitmap) { return viaImage(file); }
    return createImageBitmap(file, {imageOrientation: "from-image"})
      .catch(function () { return viaImage(file); });  // e.g. a browser without that option
  }

  // An <img> is drawn upright by current browsers. A data: URL, not a blob: one, because the
  // Content-Security-Policy allows images from 'self' and data: only.
  function viaImage(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onerror = reject;
      reader.onload = function () {
        var image = new Image();
        image.onload = function () { resolve(image); };
        image.onerror = reject;
        image.src = reader.result;
      };
      reader.readAsDataURL(file);
    });
  }

  function jpegName(name) {
    return (name || "photo").replace(/\.[^.\/\\]*$/, "") + ".jpg";  // the server reads the extension
  }

  // Resolves to the file to send: the smaller JPEG, or the original itself.
  function shrink(file, max) {
    var convert = CONVERT.indexOf(file.type) >= 0;
    if (RESIZABLE.indexOf(file.type) < 0 && !convert) { return Promise.resolve(file); }
    return decode(file).then(function (image) {
      var width = image.naturalWidth || image.width, height = image.naturalHeight || image.height;
      var scale = Math.min(1, max / Math.max(width, height));
      if (scale === 1 && file.size <= BIG && !convert) { return file; }  // small already: as taken
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff";  // a PNG's transparent parts would turn black in a JPEG
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.imageSmoothingQuality = "high";
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      if (image.close) { image.close(); }  // an ImageBitmap holds the full-size pixels until closed
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          // Never worse than what was chosen: a picture that would not get smaller stays as it is.
          // (A throw in this callback would escape the promise and leave the form locked.)
          try {
            resolve(blob && (convert || blob.size < file.size)
              ? new File([blob], jpegName(file.name), {type: "image/jpeg", lastModified: file.lastModified})
              : file);
          } catch (error) {
            resolve(file);
          }
        }, "image/jpeg", QUALITY);
      });
    }).catch(function () { return file; });
  }

  // While photos are prepared the form cannot be sent: a quick tap on "Send" would otherwise
  // send the big originals (and hit the request cap). Counted per form: it may have several inputs.
  function busy(form, input, on) {
    if (!form) { return; }
    form.resizing = Math.max(0, (form.resizing || 0) + (on ? 1 : -1));
    var waiting = form.resizing > 0;
    form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]").forEach(function (button) {
      if (waiting && !button.disabled) {
        button.disabled = true;
        button.setAttribute("data-resize-disabled", "");
      } else if (!waiting && button.hasAttribute("data-resize-disabled")) {
        button.disabled = false;
        button.removeAttribute("data-resize-disabled");
      }
    });
    var status = form.querySelector("[data-resize-status-line]");
    if (status) { status.textContent = waiting ? input.getAttribute("data-resize-status") || "Preparing photo…" : ""; }
  }

  function prepare(input) {
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length || !window.DataTransfer || !window.Promise) { return; }
    var max = Number(input.getAttribute("data-resize-max")) || 1600;
    var run = input.resizeRun = (input.resizeRun || 0) + 1;  // a newer choice wins over this one
    var form = input.form;
    var ready = [];
    busy(form, input, true);
    files.reduce(function (chain, file) {  // one at a time: a phone has little memory to spare
      return chain.then(function () { return shrink(file, max); }).then(function (sent) { ready.push(sent); });
    }, Promise.resolve()).then(function () {
      var changed = ready.some(function (file, i) { return file !== files[i]; });
      if (run !== input.resizeRun || !changed) { return; }
      var transfer = new DataTransfer();
      ready.forEach(function (file) { transfer.items.add(file); });
      input.files = transfer.files;
    }).catch(function () {
      // The input keeps the files the user chose.
    }).then(function () {
      busy(form, input, false);
      if (run === input.resizeRun && form && input.hasAttribute("data-autosubmit") && input.files.length) {
        if (unsavedStep()) {
          sendInPlace(form, input);
        } else if (form.requestSubmit) {
          form.requestSubmit();
        } else {
          form.submit();
        }
      }
    });
  }

  // A step form on the page (the ticket page's workflow steps) being filled in: what was typed, or
  // the customer's signature drawn on its pad. A photo taken then must not reload the page.
  function unsavedStep() {
    return Array.prototype.some.call(document.querySelectorAll("form.workflow-step"), function (step) {
      var signature = step.querySelector("[data-signature-value]");
      return step.hasAttribute("data-typed") || Boolean(signature && signature.value);
    });
  }

  function markTyped(event) {
    var step = event.target.closest && event.target.closest("form.workflow-step");
    if (step) { step.setAttribute("data-typed", ""); }
  }

  // The photo goes without leaving the page; the server answers in JSON what became of it. Not
  // sent (offline, an old server): the form's own button is shown to send it the usual way.
  function sendInPlace(form, input) {
    var status = form.querySelector("[data-resize-status-line]");
    var buttons = form.querySelectorAll("button[type=submit], input[type=submit]");
    window.fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                               headers: {Accept: "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (status) { status.textContent = answer.message; }
        document.querySelectorAll("[data-photo-status]").forEach(function (line) { line.textContent = answer.message; });
        if (answer.ok) { input.value = ""; }
      })
      .catch(function () {
        buttons.forEach(function (button) { button.hidden = false; });
      });
  }

  function setUp(input) {
    var form = input.form;
    if (form && !form.querySelector("[data-resize-status-line]")) {
      // The live region exists before its text changes, so screen readers announce the change.
      var status = document.createElement("div");
      status.className = "small text-muted";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      status.setAttribute("data-resize-status-line", "");
      form.appendChild(status);
      form.addEventListener("submit", function (event) {
        if (form.resizing > 0) { event.preventDefault(); }  // e.g. Enter in a text field
      });
    }
    if (form && input.hasAttribute("data-autosubmit") && window.DataTransfer && window.Promise) {
      // The form's own button is for browsers without this script: here choosing the photo sends it.
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
        button.hidden = true;
      });
    }
    // A visually hidden input shows its keyboard focus on the button-like label that opens it.
    var labels = input.id ? document.querySelectorAll("label.btn[for='" + input.id + "']") : [];
    input.addEventListener("focus", function () { labels.forEach(function (l) { l.classList.add("focus"); }); });
    input.addEventListener("blur", function () { labels.forEach(function (l) { l.classList.remove("focus"); }); });
    input.addEventListener("change", function () { prepare(input); });
  }

  function start() {
    document.addEventListener("input", markTyped);
    document.addEventListener("change", markTyped);
    document.querySelectorAll("input[type=file][data-resize-max]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
