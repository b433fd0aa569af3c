// Reading view: bring the highlighted passage to the middle of the screen and give it
// focus, so keyboard and screen-reader users start reading there too.
"use strict";

(() => {
  const target = document.querySelector("p.highlight[id^='chunk-']");
  if (!target) return;
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const show = () => {
    target.scrollIntoView({ block: "center", behavior: reducedMotion ? "auto" : "smooth" });
    target.focus({ preventScroll: true });
  };
  if (document.readyState === "complete") show();
  else window.addEventListener("load", show, { once: true });
  for (const link of document.querySelectorAll(`a[href='#${target.id}']`)) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      show();
    });
  }
})();
