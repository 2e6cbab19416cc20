// Every page's forms. Those marked data-confirm (the siren, the all clear, removals)
// ask before they submit; a POST form's submit buttons are disabled once sent,
// against double submissions (the server refuses a second one anyway). The listener
// is on the document, so forms swapped into a page later (the desk's panels) count too.
(() => {
  "use strict";

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (form.method.toLowerCase() === "post") {
      form.querySelectorAll("button[type=submit]").forEach((button) => {
        window.setTimeout(() => {
          button.disabled = true;
        }, 0);
      });
    }
  });
  // A page restored from the back-forward cache gets its buttons back.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) {
      document.querySelectorAll("button[type=submit]").forEach((button) => {
        button.disabled = false;
      });
    }
  });
})();
