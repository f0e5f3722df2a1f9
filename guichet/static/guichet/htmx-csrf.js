/* Every htmx request carries the CSRF token of the page (read from <meta name="csrf-token"> in base.html).
   A static file, not an inline script: the Content-Security-Policy allows scripts from our origin only. */
document.addEventListener("htmx:configRequest", function (event) {
  "use strict";
  var token = document.querySelector("meta[name=csrf-token]");
  if (token) {
    event.detail.headers["X-CSRFToken"] = token.content;
  }
});
