// emoconvey listening test: small progressive enhancements, the forms work without it.
(function () {
  "use strict";
  var started = Date.now();
  document.querySelectorAll("form").forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    var audio = form.querySelector("audio");
    var played = form.querySelector("input[name=played]");
    var status = form.querySelector(".play-status");
    function setState(state) {
      if (!status || status.dataset.state === "done") { return; }
      status.dataset.state = state;
      if (state === "done") {
        status.querySelector(".waiting-text").hidden = true;
        status.querySelector(".done-text").hidden = false;
      }
    }
    if (audio) {
      audio.addEventListener("play", function () { setState("playing"); });
      audio.addEventListener("pause", function () {
        if (!audio.ended) { setState("waiting"); }
      });
      audio.addEventListener("ended", function () {
        setState("done");
        if (played) { played.value = "1"; }
        if (button) { button.disabled = false; }
      });
    }
    if (form.dataset.requirePlay === "1" && button) { button.disabled = true; }
    form.addEventListener("submit", function (ev) {
      var rt = form.querySelector("input[name=rt_ms]");
      if (rt) { rt.value = String(Date.now() - started); }
      if (form.dataset.submitted === "1") { ev.preventDefault(); return; }
      form.dataset.submitted = "1";
      if (button) { setTimeout(function () { button.disabled = true; }, 0); }
    });
    var missing = form.querySelector(".missing");
    form.addEventListener("invalid", function () {
      if (missing) { missing.hidden = false; }
    }, true);
    // the reminder goes away as soon as every required scale is answered
    form.addEventListener("change", function () {
      if (missing && !missing.hidden && form.checkValidity()) { missing.hidden = true; }
    });
  });
})();
