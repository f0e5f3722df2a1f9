/* Dossier form: show or hide conditional fields as answers change, clear file inputs once
   uploaded by autosave, and mark error states. Works on top of server rendering: without
   JavaScript, conditions apply after each save. */
(function () {
  "use strict";
  var form = document.getElementById("section-form");
  if (!form) return;

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
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = document.getElementById("save-status");
    if (status && event.detail.xhr.status !== 401) {
      status.innerHTML = '<p class="fr-message fr-message--error">L\'enregistrement automatique a échoué. Utilisez le bouton « Enregistrer » : rien de ce que vous avez saisi n\'est perdu.</p>';
    }
  });
  refresh();
})();
