// Polls the self-check of the exercise version in the admin form until it is final, so its result
// appears without a reload. A static file: no inline script anywhere.
function startExerciseCheckPolling() {
  "use strict";
  const box = document.querySelector("[data-exercise-check][data-status-url]");
  if (!box) return;
  const label = box.querySelector(".exercise-check__label strong");
  const message = box.querySelector(".exercise-check__message");
  const detail = box.querySelector(".exercise-check__detail");
  let delay = 1000;

  function show(state) {
    box.dataset.status = state.status;
    label.textContent = state.label;
    message.textContent = state.message;
    detail.textContent = state.detail;
    detail.hidden = !state.detail;
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((state) => {
        show(state);
        if (!state.finished) {
          delay = Math.min(delay * 1.3, 5000);
          window.setTimeout(poll, delay);
        }
      })
      .catch(() => window.setTimeout(poll, 5000));
  }

  if (!["passed", "failed", "error"].includes(box.dataset.status)) poll();
}

// The admin may load panel media in the head, before the form exists.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", startExerciseCheckPolling);
} else {
  startExerciseCheckPolling();
}
