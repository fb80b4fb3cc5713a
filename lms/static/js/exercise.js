// Exercise forms without a page reload: post the answer, poll the submission, show the feedback,
// the outputs of Run, and hints one at a time. Everything the learner's code produced is written
// with textContent (or as a checked data: image), never as HTML.
(function () {
  if (window.openCapacityExercises) return;
  window.openCapacityExercises = true;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pre(className, text) {
    var node = el("pre", className, text);
    node.dir = "ltr";
    return node;
  }

  var IMAGE_URI = /^data:image\/(png|jpeg);base64,[A-Za-z0-9+\/=]+$/;

  function outputNode(output) {
    if (output.kind === "error") {
      return pre("output error", output.traceback || (output.ename + ": " + output.evalue));
    }
    if (output.kind === "stream") return pre("output " + (output.name === "stderr" ? "stderr" : "stdout"), output.text);
    if (output.image && IMAGE_URI.test(output.image)) {
      var image = el("img", "output image");
      image.alt = "";
      image.src = output.image;
      return image;
    }
    return pre("output", output.text || "");
  }

  function clearOutputs(form) {
    form.querySelectorAll(".cell-output").forEach(function (box) { box.replaceChildren(); box.hidden = true; });
  }

  function renderRun(form, box, data) {
    clearOutputs(form);
    box.appendChild(el("p", "run-status", data.verdict_label));
    (data.cells || []).forEach(function (cell) {
      var target = Array.prototype.find.call(form.querySelectorAll(".cell-output"), function (node) {
        return node.dataset.answerKey === cell.key;
      });
      if (!target) return;
      cell.outputs.forEach(function (output) { target.appendChild(outputNode(output)); });
      target.hidden = cell.outputs.length === 0;
    });
    (data.instructor_errors || []).forEach(function (output) { box.appendChild(outputNode(output)); });
  }

  function render(form, box, data) {
    box.replaceChildren();
    if (data.error) { box.appendChild(el("p", "notice", data.error)); return; }
    if (data.status === "queued" || data.status === "running") {
      box.appendChild(el("p", "notice", data.status_label + "…"));
      return;
    }
    if (data.status === "failed") { box.appendChild(el("p", "notice", data.failed_reason)); return; }
    if (data.kind === "run") { renderRun(form, box, data); return; }
    var score = el("p", "score");
    score.appendChild(el("strong", "", data.score + " / " + data.max_score));
    if (data.verdict !== "graded") score.appendChild(el("span", "", " · " + data.verdict));
    box.appendChild(score);
    var list = el("ul", "test-results");
    data.tests.forEach(function (test) {
      var item = el("li", test.passed ? "passed" : "failed", (test.passed ? "✓ " : "✗ ") + test.name +
        " · " + test.points + "/" + test.max_points);
      item.dir = "auto";  // test names are the instructor's, often in another script than the page
      if (test.message) item.appendChild(pre("", test.message));
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function poll(form, box, url) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        render(form, box, data);
        if (data.status === "queued" || data.status === "running") setTimeout(function () { poll(form, box, url); }, 150);
      });
  }

  function postForm(form, submitter) {
    var body = new FormData(form);
    if (submitter && submitter.name) body.set(submitter.name, submitter.value);
    return fetch(form.action, { method: "POST", body: body, headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); });
  }

  function revealHint(form, submitter) {
    var section = form.closest(".hints");
    postForm(form, submitter).then(function (data) {
      var list = section.querySelector(".hint-list");
      // Hints are the course authors' rich text, cleaned on the server to an allow-list of tags;
      // parsed in an inert document, where nothing runs.
      list.replaceChildren();
      data.html.forEach(function (html) {
        var item = el("li");
        var parsed = new DOMParser().parseFromString(html, "text/html");
        item.append.apply(item, Array.prototype.slice.call(parsed.body.childNodes));
        list.appendChild(item);
      });
      if (data.revealed >= data.total) form.remove();
      else form.querySelector(".next-hint-number").textContent = String(data.revealed + 1);
      var last = list.lastElementChild;
      if (last) { last.tabIndex = -1; last.focus(); }
    });
  }

  document.addEventListener("submit", function (event) {
    var hintForm = event.target.closest(".hint-form");
    if (hintForm) { event.preventDefault(); revealHint(hintForm, event.submitter); return; }
    var form = event.target.closest(".exercise-form");
    if (!form) return;
    event.preventDefault();
    var box = form.parentElement.querySelector(".exercise-feedback");
    box.replaceChildren(el("p", "notice", "…"));  // the previous result no longer applies
    postForm(form, event.submitter).then(function (data) {
      render(form, box, data);
      if (data.url) poll(form, box, data.url);
    });
  });

  document.querySelectorAll(".exercise-form").forEach(function (form) {
    var reset = form.querySelector(".reset-code");
    if (!reset) return;
    reset.hidden = false;
    reset.addEventListener("click", function () {
      form.querySelectorAll("textarea.code-editor").forEach(function (area) {
        area.value = area.dataset.starter;
        area.dispatchEvent(new Event("editor:replace"));
      });
    });
  });
})();
