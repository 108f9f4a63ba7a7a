// Copy buttons for read-only fields (`<button data-copy="field-id" hidden>`): shown only where
// this script runs, so that without it the field itself is there to select and copy.
"use strict";
document.querySelectorAll("button[data-copy]").forEach((button) => {
  const field = document.getElementById(button.dataset.copy);
  if (!field || !navigator.clipboard) {
    return;
  }
  const label = button.textContent;
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(field.value).then(() => {
      button.textContent = button.dataset.copied;
      setTimeout(() => { button.textContent = label; }, 2000);
    }, () => { field.select(); });
  });
  field.addEventListener("focus", () => field.select());
});
