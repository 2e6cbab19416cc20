// Keyboard shortcuts of the desk. A control marked data-shortcut="KeyS" is clicked when
// that key is pressed alone, outside a field; the key is the physical one (event.code),
// so S is S on a Ukrainian layout too. A form marked data-submit-shortcut is sent with
// Ctrl+Enter (Cmd+Enter on a Mac) from any of its fields, through its submit button, so
// the page's other form handling (confirmations, no double submission) applies.
(() => {
  "use strict";

  const typing = (element) =>
    element instanceof HTMLElement &&
    (element.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(element.tagName));

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.repeat) {
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const form = event.target.closest?.("form[data-submit-shortcut]");
      if (form) {
        event.preventDefault();
        form.requestSubmit(form.querySelector("[type=submit]"));
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    const control = document.querySelector(`[data-shortcut="${event.code}"]`);
    if (control) {
      event.preventDefault();
      control.click();
    }
  });
})();
