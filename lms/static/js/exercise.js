// Exercise forms without a page reload: post the answer, poll the submission, show the feedback.
// Everything learner-controlled is written with textContent, never as HTML.
(function () {
  if (window.openCapacityExercises) return;
  window.openCapacityExercises = true;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function render(box, data) {
    box.replaceChildren();
    if (data.error) { box.appendChild(el("p", "notice", data.error)); return; }
    if (data.status === "queued" || data.status === "running") {
      box.appendChild(el("p", "notice", data.status_label + "…"));
      return;
    }
    if (data.status === "failed") { box.appendChild(el("p", "notice", data.failed_reason)); return; }
    var score = el("p", "score");
    score.appendChild(el("strong", "", data.score + " / " + data.max_score));
    if (data.verdict !== "graded") score.appendChild(el("span", "", " · " + data.verdict));
    box.appendChild(score);
    var list = el("ul", "test-results");
    data.tests.forEach(function (test) {
      var item = el("li", test.passed ? "passed" : "failed", (test.passed ? "✓ " : "✗ ") + test.name +
        " · " + test.points + "/" + test.max_points);
      item.dir = "auto";  // test names are the instructor's, often in another script than the page
      if (test.message) { var pre = el("pre", "", test.message); pre.dir = "ltr"; item.appendChild(pre); }
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function poll(box, url) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        render(box, data);
        if (data.status === "queued" || data.status === "running") setTimeout(function () { poll(box, url); }, 150);
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest(".exercise-form");
    if (!form) return;
    event.preventDefault();
    var box = form.parentElement.querySelector(".exercise-feedback");
    box.replaceChildren(el("p", "notice", "…"));  // the previous result no longer applies
    var body = new FormData(form);
    if (event.submitter && event.submitter.name) body.set(event.submitter.name, event.submitter.value);
    fetch(form.action, { method: "POST", body: body, headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) { render(box, data); if (data.url) poll(box, data.url); });
  });

  document.querySelectorAll(".exercise-form").forEach(function (form) {
    var reset = form.querySelector(".reset-code");
    if (!reset) return;
    reset.hidden = false;
    reset.addEventListener("click", function () {
      form.querySelectorAll("textarea.code-editor").forEach(function (area) { area.value = area.dataset.starter; });
    });
  });
})();
