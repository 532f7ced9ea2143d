// ACORN's page behaviours, bound from data attributes: the Content-Security-Policy allows no inline script or
// inline event handler, so markup says what it wants and this file (served from 'self') does it.
//   <form data-confirm="Delete this rule?">          asks before submitting
//   <select data-submit-on-change>                    submits its form when the choice changes
//   <button data-print>                               prints the page
//   <button data-copy-from="id" data-copied="Copied"> copies the value of the element with that id
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm !== undefined && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select instanceof HTMLSelectElement && select.dataset.submitOnChange !== undefined && select.form) {
      select.form.submit();
    }
  });
  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element)) { return; }
    if (event.target.closest("[data-print]")) { window.print(); }
    var copy = event.target.closest("[data-copy-from]");
    if (copy) {
      var source = document.getElementById(copy.dataset.copyFrom);
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.value).then(function () { copy.textContent = copy.dataset.copied; });
      }
    }
  });
})();
