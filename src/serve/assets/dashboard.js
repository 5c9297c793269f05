// klk-etl dashboard: refreshes the live executions every few seconds and marks a Recover
// button busy while its recovery runs. The page works without it (reload to refresh).
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (live && window.fetch) {
    var src = live.getAttribute("data-src");
    var every = parseInt(live.getAttribute("data-every"), 10) || 5;
    var tick = function () {
      fetch(src, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { live.innerHTML = html; } })
        .catch(function () {})
        .then(function () { setTimeout(tick, every * 1000); });
    };
    setTimeout(tick, every * 1000);
  }
  var forms = document.querySelectorAll("form.recover");
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button");
      if (button) {
        button.disabled = true;
        button.textContent = form.getAttribute("data-busy") || "…";
      }
    });
  });
})();
