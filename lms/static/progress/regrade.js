// The regrade page's progress bar: polls the regrade's JSON status and updates the bar, the counts and,
// once finished, the table of changed scores. Everything is written with textContent.
(function () {
  var section = document.getElementById("regrade");
  if (!section || section.dataset.finished === "true") return;
  var url = section.dataset.statusUrl;

  function part(name) { return section.querySelector('[data-regrade="' + name + '"]'); }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function showResults(data) {
    var rows = part("rows");
    rows.replaceChildren();
    (data.changes || []).forEach(function (change) {
      var row = document.createElement("tr");
      cell(row, change.learner).dir = "auto";  // names in any script, on a page in any direction
      cell(row, change.submitted_at);
      cell(row, change.old);
      cell(row, "→ " + change.new);
      cell(row, change.status_label);
      rows.appendChild(row);
    });
    var summary = data.summary || {};
    ["raised", "lowered", "unchanged"].forEach(function (name) { part(name).textContent = summary[name]; });
    part("results").hidden = false;
  }

  function update(data) {
    part("bar").max = data.total;
    part("bar").value = data.done + data.failed;
    part("bar").textContent = data.done + " / " + data.total;
    part("done").textContent = data.done;
    part("total").textContent = data.total;
    part("failed").textContent = data.failed;
    part("status").textContent = data.status_label;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        update(data);
        if (data.finished) { showResults(data); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }

  poll();
})();
