/* The instructor's « Instruire » menu (templates/instruction/dossier_actions.html). Without this script it is a
   plain list of links, one page per decision; with it, the list folds behind a menu button that opens it
   (aria-expanded), and Escape closes it and gives the focus back to the button. */
(function () {
  "use strict";
  document.querySelectorAll("[data-instruire-menu]").forEach(function (menu) {
    var list = menu.querySelector(".guichet-instruire__list");
    var heading = menu.querySelector("h2");
    if (!list || !heading) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "fr-btn fr-btn--icon-right fr-icon-arrow-down-s-line guichet-instruire__button";
    button.textContent = "Instruire";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", list.id);
    heading.classList.add("fr-sr-only");
    heading.after(button);
    list.hidden = true;

    function toggle(open) {
      list.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        var first = list.querySelector("a");
        if (first) first.focus();
      }
    }
    button.addEventListener("click", function () { toggle(list.hidden); });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !list.hidden) {
        toggle(false);
        button.focus();
      }
    });
  });
})();
