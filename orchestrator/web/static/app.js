// ScaleMalNet web interface: live progress of running jobs. Plain
// JavaScript, no library. It polls /ui/progress (same-origin, session
// cookie) and updates state cells with textContent only (never HTML).
(function () {
  "use strict";
  function poll(el, onFinal) {
    var ids = (el.getAttribute("data-active") || "").split(",").filter(Boolean);
    if (ids.length === 0) return;
    var timer = setInterval(function () {
      fetch("/ui/progress?id=" + encodeURIComponent(ids.join(",")), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (list) {
          var allFinal = true;
          list.forEach(function (j) {
            onFinal(j);
            if (!j.final) allFinal = false;
          });
          if (allFinal) clearInterval(timer);
        })
        .catch(function () {});
    }, 2000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("jobs");
    if (table) {
      poll(table, function (j) {
        var row = table.querySelector('tr[data-id="' + j.id.replace(/[^0-9A-Za-z-]/g, "") + '"]');
        if (!row) return;
        var cell = row.querySelector("td.state");
        cell.className = "state s-" + j.state;
        cell.textContent = "";
        var st = document.createElement("span");
        st.className = "st";
        st.textContent = j.state;
        cell.appendChild(st);
        if (j.step) {
          var sp = document.createElement("span");
          sp.className = "step";
          sp.textContent = " (" + j.step + ")";
          cell.appendChild(sp);
        }
        if (j.verdict) row.querySelector("td.vd").textContent = j.verdict;
      });
    }
    var prog = document.getElementById("progress");
    if (prog) {
      poll(prog, function (j) {
        var st = prog.querySelector(".st");
        if (st) st.textContent = j.state;
        var step = prog.querySelector(".step");
        if (step) step.textContent = j.step ? "step " + j.step : "";
        if (j.final) location.reload();
      });
    }
  });
})();
