// The library page: a ticked or cleared facet applies at once (the form still has its
// button for keyboard users and without scripts), and focus returns to that box.
"use strict";
(function () {
  const form = document.getElementById("library-filters");
  if (!form) return;
  form.addEventListener("change", (event) => {
    if (event.target.type !== "checkbox") return;
    sessionStorage.setItem("library-focus", JSON.stringify([event.target.name, event.target.value]));
    form.requestSubmit();
  });
  const focus = sessionStorage.getItem("library-focus");
  if (focus) {
    sessionStorage.removeItem("library-focus");
    const [name, value] = JSON.parse(focus);
    const box = form.querySelector(`input[name="${CSS.escape(name)}"][value="${CSS.escape(value)}"]`);
    if (box) box.focus();
  }
})();
