// The desk's clocks: countdowns to each call's time limit ([data-deadline]) and the
// time elapsed since a call started ([data-started]), both in Unix seconds.
// The page's container gives the server's time at rendering ([data-server-now]),
// so a desk computer with a wrong clock still counts right, and the words to show
// (data-label-left, data-label-over, data-label-duration-minutes and -hours), already
// translated: durations read "13 min 18 s", as on the server (camp/templatetags/durations.py).
// Without JavaScript the page still shows the time limit and the time left at loading.
// The elements are looked up at every tick, so panels swapped in by desk-refresh.js
// count too; after each swap it sends "desk:updated" with the server's new time.
(() => {
  "use strict";

  const WARN_SECONDS = 120;
  const root = document.querySelector("[data-server-now]");
  if (!root) {
    return;
  }
  let skew = 0;
  const labels = {
    left: root.dataset.labelLeft || "%(time)s",
    over: root.dataset.labelOver || "-%(time)s",
    minutes: root.dataset.labelDurationMinutes || "%(minutes)d:%(seconds)02d",
    hours: root.dataset.labelDurationHours || "%(hours)d:%(minutes)02d:%(seconds)02d",
  };

  const serverNow = () => (Date.now() + skew) / 1000;
  const pad = (number) => String(number).padStart(2, "0");

  function duration(total) {
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = total % 60;
    return (hours ? labels.hours : labels.minutes)
      .replace("%(hours)d", String(hours))
      .replace("%(minutes)02d", pad(minutes))
      .replace("%(minutes)d", String(minutes))
      .replace("%(seconds)02d", pad(seconds));
  }

  function tick() {
    const now = serverNow();
    document.querySelectorAll("[data-deadline]").forEach((element) => {
      const left = Math.floor(Number(element.dataset.deadline) - now);
      const label = left >= 0 ? labels.left : labels.over;
      element.textContent = label.replace("%(time)s", duration(Math.abs(left)));
      element.classList.toggle("countdown-warning", left <= WARN_SECONDS);
    });
    document.querySelectorAll("[data-started]").forEach((element) => {
      element.textContent = duration(Math.max(0, Math.floor(now - Number(element.dataset.started))));
    });
  }

  function synchronise(serverSeconds) {
    skew = serverSeconds * 1000 - Date.now();
    tick();
  }

  synchronise(Number(root.dataset.serverNow));
  document.addEventListener("desk:updated", (event) => synchronise(event.detail.serverNow));
  window.setInterval(tick, 1000);
})();
