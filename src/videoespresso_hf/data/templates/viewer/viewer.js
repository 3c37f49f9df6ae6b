// videoespresso data view: filter the items of this page by task and group; the choice lives in the
// URL hash so it survives reloads and follows the pager links. No network, no modules: file:// works.
(function () {
  "use strict";
  var task = document.getElementById("task-filter");
  var group = document.getElementById("group-filter");
  var verdict = document.getElementById("verdict-filter");  // only with `data view --predictions`
  var count = document.getElementById("visible-count");
  var items = Array.prototype.slice.call(document.querySelectorAll("article.item"));

  function readHash() {
    var params = new URLSearchParams(window.location.hash.slice(1));
    task.value = params.get("task") || "";
    group.value = params.get("group") || "";
    if (task.selectedIndex < 0) { task.value = ""; }
    if (verdict) { verdict.value = params.get("verdict") || ""; }
  }

  function verdictMatches(item) {
    if (!verdict || !verdict.value) { return true; }
    return (item.dataset.verdicts || "").split(" ").indexOf(verdict.value) >= 0;
  }

  function apply() {
    var shown = 0;
    items.forEach(function (item) {
      var visible = (!task.value || item.dataset.task === task.value) && (!group.value || item.dataset.group === group.value)
        && verdictMatches(item);
      item.classList.toggle("hidden", !visible);
      if (visible) { shown += 1; }
    });
    count.textContent = String(shown);
    var params = new URLSearchParams();
    if (task.value) { params.set("task", task.value); }
    if (group.value) { params.set("group", group.value); }
    if (verdict && verdict.value) { params.set("verdict", verdict.value); }
    var hash = params.toString();
    try {
      history.replaceState(null, "", hash ? "#" + hash : window.location.pathname);
    } catch (error) { /* some browsers refuse history changes on file:// pages; filtering still works */ }
    document.querySelectorAll("a.pager-link").forEach(function (link) {
      link.href = link.getAttribute("href").split("#")[0] + (hash ? "#" + hash : "");
    });
  }

  readHash();
  apply();
  task.addEventListener("change", apply);
  group.addEventListener("change", apply);
  if (verdict) { verdict.addEventListener("change", apply); }
  window.addEventListener("hashchange", function () { readHash(); apply(); });
})();
