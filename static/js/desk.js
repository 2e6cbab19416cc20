// The desk's clocks: countdowns to each call's time limit ([data-deadline]) and the
// time elapsed since a call started ([data-started]), both in Unix seconds.
// The page's container gives the server's time at rendering ([data-server-now]),
// so a desk computer with a wrong clock still counts right, and the words to show
// (data-label-left, data-label-over, data-label-elapsed), already translated.
// Without JavaScript the page still shows the time limit and the time left at loading.
(() => {
  "use strict";

  const WARN_SECONDS = 120;
  const root = document.querySelector("[data-server-now]");
  if (!root) {
    return;
  }
  const skew = Number(root.dataset.serverNow) * 1000 - Date.now();
  const labels = {
    left: root.dataset.labelLeft || "%(time)s",
    over: root.dataset.labelOver || "-%(time)s",
    elapsed: root.dataset.labelElapsed || "%(minutes)d:%(seconds)02d",
  };

  const serverNow = () => (Date.now() + skew) / 1000;
  const pad = (number) => String(number).padStart(2, "0");
  const clock = (seconds) => `${Math.floor(seconds / 60)}:${pad(seconds % 60)}`;

  function tick() {
    const now = serverNow();
    document.querySelectorAll("[data-deadline]").forEach((element) => {
      const left = Math.floor(Number(element.dataset.deadline) - now);
      const label = left >= 0 ? labels.left : labels.over;
      element.textContent = label.replace("%(time)s", clock(Math.abs(left)));
      element.classList.toggle("countdown-warning", left <= WARN_SECONDS);
    });
    document.querySelectorAll("[data-started]").forEach((element) => {
      const elapsed = Math.max(0, Math.floor(now - Number(element.dataset.started)));
      element.textContent = labels.elapsed
        .replace("%(minutes)d", String(Math.floor(elapsed / 60)))
        .replace("%(seconds)02d", pad(elapsed % 60));
    });
  }

  tick();
  window.setInterval(tick, 1000);
})();
