// Buttons marked data-print open the browser's print dialog; print.css lays out the page.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
