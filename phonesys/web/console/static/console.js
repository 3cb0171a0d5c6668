// The console's only script: mirrors two server-side rules as the help page asks (the directory
// name limit disables Update; a start key that is not 3-5 digits disables Provision), asks before
// a delete, and follows a running template's progress. The server enforces every rule regardless.
"use strict";

function nameLimit(form) {
  const limit = Number(form.dataset.nameLimit);
  const input = form.querySelector("[data-name-input]");
  const update = () => {
    const length = [...input.value].length;
    const over = length > limit;
    form.querySelector("[data-name-count]").textContent = String(length);
    form.querySelector("[data-name-error]").hidden = !over;
    const submit = form.querySelector("[data-name-submit]");
    if (!submit.hasAttribute("data-read-only")) submit.disabled = over;
  };
  input.addEventListener("input", update);
  update();
}

function keyCheck(form) {
  const input = form.querySelector("[data-key-pattern]");
  const pattern = new RegExp("^(?:" + input.dataset.keyPattern + ")$");
  const update = () => {
    const bad = input.value !== "" && !pattern.test(input.value.trim());
    form.querySelector("[data-key-error]").hidden = !bad;
    form.querySelectorAll("[data-key-submit]").forEach((b) => {
      if (!b.hasAttribute("data-read-only")) b.disabled = bad;
    });
  };
  input.addEventListener("input", update);
  update();
}

function followProgress(section) {
  const set = (field, value) => {
    const element = section.querySelector(`[data-field="${field}"]`);
    if (element) element.textContent = String(value);
  };
  const poll = async () => {
    const response = await fetch(section.dataset.progress, { credentials: "same-origin" });
    if (!response.ok) return;
    const progress = await response.json();
    for (const [status, count] of Object.entries(progress.counts)) set(status, count);
    set("rows", progress.rows);
    set("status", progress.status.replace("_", " "));
    const bar = section.querySelector("progress");
    bar.max = progress.rows || 1;
    bar.value = progress.counts.assigned + progress.counts.failed;
    if (progress.status !== section.dataset.status) window.location.reload();
    else window.setTimeout(poll, 1000);
  };
  if (section.dataset.status === "in_progress") window.setTimeout(poll, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button[disabled][title]").forEach((b) => b.setAttribute("data-read-only", ""));
  document.querySelectorAll("form[data-name-limit]").forEach(nameLimit);
  document.querySelectorAll("form[data-key-check]").forEach(keyCheck);
  document.querySelectorAll("[data-progress]").forEach(followProgress);
  document.querySelectorAll("[data-confirm]").forEach((b) => b.addEventListener("click", (event) => {
    if (!window.confirm(b.dataset.confirm)) event.preventDefault();
  }));
});
