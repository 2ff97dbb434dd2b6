// The customer's signature on the engineer's screen (issue 18): the vendored signature pad
// (static/vendor/signature_pad) draws on the step form's canvas and the drawing travels as a PNG
// data: URL in the form's hidden field. Without this script the field stays empty and the report
// is signed by name and on paper.
(function () {
  function setUp(field) {
    var canvas = field.querySelector("canvas[data-signature-pad]");
    var input = field.querySelector("input[data-signature-value]");
    var pad = new window.SignaturePad(canvas, { penColor: "#0b2e59", minWidth: 0.8, maxWidth: 2.6 });
    // The drawing brought back after a refused submit (an image: its strokes are not known).
    var restored = input.value || null;

    // The canvas is drawn in device pixels at its shown size. The form may be hidden when the
    // page loads (steps open in place), so it is sized whenever its box changes (the phone turned);
    // the restored drawing and the strokes added to it are drawn again, at the new size.
    function fit() {
      var width = canvas.offsetWidth, height = canvas.offsetHeight;
      if (!width || !height) { return; }
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      var strokes = pad.toData();
      canvas.width = width * ratio;
      canvas.height = height * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      var ready = restored ? pad.fromDataURL(restored, { ratio: ratio, width: width, height: height })
                           : Promise.resolve();
      ready.then(function () { if (strokes.length) { pad.fromData(strokes, { clear: false }); } });
    }

    pad.addEventListener("endStroke", function () { input.value = pad.toDataURL("image/png"); });
    field.querySelector("[data-signature-clear]").addEventListener("click", function () {
      pad.clear();
      restored = null;
      input.value = "";
    });
    if (window.ResizeObserver) {
      new window.ResizeObserver(fit).observe(canvas);
    } else {
      window.addEventListener("resize", fit);
    }
    fit();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.SignaturePad) { return; }
    document.querySelectorAll("[data-signature-field]").forEach(setUp);
  });
})();
