/* Dossier form: show or hide conditional fields as answers change, clear file inputs once
   uploaded by autosave, mark error states, and focus a collapsed row opened in place. Works on top of server rendering: without
   JavaScript, conditions apply after each save. */
(function () {
  "use strict";
  var form = document.getElementById("section-form");
  if (!form) return;
  if (form.hasAttribute("data-preview")) {
    // The administrator's preview of a form: nothing to send anywhere.
    form.addEventListener("submit", function (event) { event.preventDefault(); });
  }

  function valueOf(name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    if (!inputs.length) return null;
    var first = inputs[0];
    if (first.type === "radio") {
      var checked = form.querySelector('[name="' + name + '"]:checked');
      if (!checked) return null;
      if (checked.value === "oui") return true;
      if (checked.value === "non") return false;
      return checked.value;
    }
    if (first.type === "checkbox") {
      if (inputs.length === 1 && !first.value.length) return first.checked;
      if (inputs.length === 1 && first.value === "on") return first.checked;
      return Array.prototype.filter.call(inputs, function (i) { return i.checked; }).map(function (i) { return i.value; });
    }
    return first.value;
  }

  function holds(cond) {
    var value = valueOf(cond.name);
    if (cond.op === "checked") return value === true;
    if (cond.op === "contains") {
      if (Array.isArray(value)) return value.indexOf(cond.value) !== -1;
      return typeof value === "string" && value.toLowerCase().indexOf(String(cond.value).toLowerCase()) !== -1;
    }
    var equal = value === cond.value;
    if (!equal && value !== null && value !== "" && typeof value !== "boolean" && typeof cond.value !== "boolean") {
      var a = parseFloat(String(value).replace(/[\s\u00a0\u202f€%]/g, "").replace(",", "."));
      var b = parseFloat(String(cond.value).replace(",", "."));
      equal = (!isNaN(a) && !isNaN(b)) ? a === b : String(value) === String(cond.value);
    }
    return cond.op === "equals" ? equal : !equal;
  }

  function refresh() {
    form.querySelectorAll("[data-show-if]").forEach(function (el) {
      var cond = JSON.parse(el.getAttribute("data-show-if"));
      el.hidden = !holds(cond);
    });
  }

  form.addEventListener("change", refresh);
  // Remember which files each autosave request carries, so that only those are cleared once
  // uploaded (a file chosen while a request is in flight goes with the next one).
  var sentFiles = [];
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt !== form) return;
    sentFiles = [];
    form.querySelectorAll('input[type="file"]').forEach(function (input) {
      if (input.files && input.files.length) sentFiles.push([input, input.files[0]]);
    });
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt !== form || !event.detail.successful) return;
    sentFiles.forEach(function (pair) {
      if (pair[0].files && pair[0].files[0] === pair[1]) pair[0].value = "";
    });
    sentFiles = [];
    form.querySelectorAll(".fr-messages-group").forEach(function (group) {
      var wrapper = group.parentElement;
      var hasError = group.querySelector(".fr-message--error") !== null;
      ["fr-input-group", "fr-select-group", "fr-upload-group", "fr-fieldset", "fr-checkbox-group"].forEach(function (cls) {
        if (wrapper.classList.contains(cls)) wrapper.classList.toggle(cls + "--error", hasError);
      });
    });
  });
  var status = document.getElementById("save-status");

  // A file larger than its field allows is refused here, before a single byte is sent.
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type !== "file" || !input.files || !input.files.length) return;
    var max = parseInt(input.getAttribute("data-max-bytes") || "0", 10);
    var file = input.files[0];
    if (max && file.size > max) {
      event.stopPropagation();  // htmx listens on the form: it never sees this change
      var messages = document.getElementById(input.id + "-messages");
      if (messages) {
        messages.innerHTML = '<p class="fr-message fr-message--error"></p>';
        messages.firstChild.textContent = "Le fichier « " + file.name + " » pèse " +
          (file.size / 1048576).toFixed(1).replace(".", ",") + " Mo : la taille maximale est de " +
          Math.round(max / 1048576) + " Mo. Il n'a pas été envoyé.";
      }
      input.value = "";
    }
  }, true);

  // Progress of an upload, and a retry that sends the same files again if it fails.
  document.body.addEventListener("htmx:xhr:progress", function (event) {
    if (event.detail.elt !== form || !sentFiles.length || !event.detail.total) return;
    var percent = Math.floor(100 * event.detail.loaded / event.detail.total);
    var bar = document.getElementById("upload-progress");
    if (!bar) {
      status.innerHTML = '<label class="fr-label" for="upload-progress">Envoi du fichier en cours…</label>' +
        '<progress id="upload-progress" max="100" value="0"></progress> <span id="upload-percent"></span>';
      bar = document.getElementById("upload-progress");
    }
    bar.value = percent;
    document.getElementById("upload-percent").textContent = percent + " %";
  });
  function failed(event) {
    if (event.detail.elt !== form || (event.detail.xhr && event.detail.xhr.status === 401)) return;
    status.innerHTML = '<p class="fr-message fr-message--error">L\'enregistrement a échoué (connexion interrompue ?). ' +
      'Rien de ce que vous avez saisi n\'est perdu.</p>' +
      '<button type="button" class="fr-btn fr-btn--secondary fr-btn--sm" id="retry-save">Réessayer</button>';
    document.getElementById("retry-save").addEventListener("click", function () {
      htmx.trigger(form, "change");
    });
  }
  // A filled row shown as a summary line, opened in place (« Modifier »): its fields arrive, their
  // conditions apply and the keyboard goes to the first of them.
  document.body.addEventListener("htmx:load", function (event) {
    var row = event.target;
    if (!row.classList || !row.classList.contains("guichet-repeat-row") || !form.contains(row)) return;
    refresh();
    var first = row.querySelector("input:not([type=hidden]), textarea, select");
    if (first) first.focus();
  });
  document.body.addEventListener("htmx:responseError", failed);
  document.body.addEventListener("htmx:sendError", failed);
  refresh();
})();
