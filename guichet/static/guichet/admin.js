/* Accessible names that Django's own admin widgets lack (found by axe, tests/browser/test_crawler.py).
   Django builds these widgets on "load" (SelectFilter2) or when the DOM is ready (select2, the autocomplete
   fields): the names are added once they exist. */
(function () {
  'use strict';

  function labelOf(element) {
    const label = element && document.querySelector('label[for="' + element.id + '"]');
    return label ? label.textContent.replace(/\s*:\s*$/, '').trim() : '';
  }

  function rowLabel(element) {
    const row = element.closest('.form-row, .fieldBox');
    const label = row && row.querySelector('label, legend');
    return label ? label.textContent.replace(/\s*:\s*$/, '').trim() : '';
  }

  function name() {
    // SelectFilter2's hint icons put aria-label on a plain span, which ARIA forbids (aria-prohibited-attr):
    // they are images with a text alternative.
    document.querySelectorAll('.search-label-icon[aria-label]').forEach(function (icon) {
      icon.setAttribute('role', 'img');
    });
    // The select2 combobox of an autocomplete field is named by the field's label (aria-input-field-name).
    document.querySelectorAll('select.admin-autocomplete').forEach(function (select) {
      const container = select.nextElementSibling;
      const combobox = container && container.querySelector('.select2-selection[role="combobox"]');
      const label = document.querySelector('label[for="' + select.id + '"]');
      if (!combobox || !label) return;
      label.id = label.id || select.id + '-label';
      const rendered = combobox.getAttribute('aria-labelledby') || '';
      if (!rendered.split(' ').includes(label.id)) {
        combobox.setAttribute('aria-labelledby', (label.id + ' ' + rendered).trim());
      }
      // The rendered choice is a read-only textbox of its own (aria-input-field-name): the label names it too.
      const choice = rendered && document.getElementById(rendered);
      if (choice && !choice.hasAttribute('aria-labelledby')) choice.setAttribute('aria-labelledby', label.id);
    });
    // A date and time field has one label for two inputs (Django gives none to either): name each.
    document.querySelectorAll('p.datetime').forEach(function (pair) {
      const field = rowLabel(pair);
      pair.querySelectorAll('input.vDateField, input.vTimeField').forEach(function (input) {
        if (!input.hasAttribute('aria-label') && !labelOf(input)) {
          const part = input.classList.contains('vDateField') ? 'date' : 'heure';
          input.setAttribute('aria-label', field ? field + ' (' + part + ')' : part);
        }
      });
    });
  }

  window.addEventListener('load', function () { window.setTimeout(name, 0); });
}());
