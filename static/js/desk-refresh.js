// Keeps the open desk up to date: every few seconds it asks the server for the desk's
// live panels ([data-refresh-url], calls:desk-live) and swaps them in when anything but
// the running clocks changed, so an alert or a booking made at another terminal shows
// within seconds. Each request also keeps the session alive while the desk is open.
// Keyboard focus and the folded sections stay as they were; a session that has ended
// (the request is sent to log in) reloads the page, which then asks to log in.
(() => {
  "use strict";

  const live = document.querySelector("[data-refresh-url]");
  if (!live) {
    return;
  }
  const url = live.dataset.refreshUrl;
  const every = Number(live.dataset.refreshSeconds || 5) * 1000;
  const problem = document.getElementById("desk-refresh-problem");
  const updated = document.getElementById("desk-updated");

  // The panels ([data-generated-at], the fragment's root) without what changes on every
  // request: the clocks' text, the forms' per-response CSRF tokens, the time of rendering.
  function signature(panels) {
    const copy = panels.cloneNode(true);
    copy.querySelectorAll("[data-deadline], [data-started]").forEach((element) => {
      element.textContent = "";
      element.classList.remove("countdown-warning");
    });
    copy.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach((input) => {
      input.removeAttribute("value");
    });
    delete copy.dataset.generatedAt;
    delete copy.dataset.updated;
    return copy.outerHTML;
  }

  let current = signature(live.querySelector("[data-generated-at]"));

  function swap(fragment) {
    const focused = live.contains(document.activeElement) ? document.activeElement.id : "";
    const open = Array.from(live.querySelectorAll("details[open][id]"), (details) => details.id);
    live.replaceChildren(fragment);
    open.forEach((id) => document.getElementById(id)?.setAttribute("open", ""));
    if (focused !== "") {
      // The same control if it is still there; otherwise the panels, so that Tab goes on
      // from where the keyboard was.
      (document.getElementById(focused) || live).focus({ preventScroll: true });
    }
  }

  async function refresh() {
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
        headers: { Accept: "text/html" },
      });
      if (response.type === "opaqueredirect" || response.status === 403) {
        window.location.reload();
        return;
      }
      if (!response.ok) {
        throw new Error(`The desk answered ${response.status}.`);
      }
      const template = document.createElement("template");
      template.innerHTML = await response.text();
      const panels = template.content.querySelector("[data-generated-at]");
      if (!panels) {
        throw new Error("The desk answered without its panels.");
      }
      const next = signature(panels);
      if (next !== current) {
        current = next;
        swap(template.content);
      }
      updated.textContent = panels.dataset.updated;
      document.dispatchEvent(
        new CustomEvent("desk:updated", {
          detail: { serverNow: Number(panels.dataset.generatedAt) },
        }),
      );
      problem.hidden = true;
    } catch {
      problem.hidden = false;
    }
    window.setTimeout(refresh, every);
  }

  window.setTimeout(refresh, every);
})();
