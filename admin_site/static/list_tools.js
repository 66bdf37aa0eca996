// List pages: "Export selected" posts the ticked rows' keys (with the CSRF token) to the export route.
// Details pages opened from a list: "Go Back" and "Edit" keep the list's query string (search, filters, sort, page).
(function () {
  document.querySelectorAll(".export-selected").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var pks = Array.prototype.map.call(document.querySelectorAll(".select-box:checked"), function (box) {
        return box.parentElement.querySelector("input[type=hidden]").value;
      });
      if (!pks.length) {
        window.alert("Select the rows to export first.");
        return;
      }
      var form = document.getElementById("export-selected-form");
      form.action = link.dataset.url;
      form.querySelector("input[name=pks]").value = pks.join(",");
      form.submit();
    });
  });

  if (window.location.search && /\/details\//.test(window.location.pathname)) {
    document.querySelectorAll(".card-footer a[href]").forEach(function (link) {
      var url = new URL(link.href, window.location.href);
      if (url.origin === window.location.origin && !url.search && /\/(list|edit\/[^/]+)$/.test(url.pathname)) {
        link.href = url.pathname + window.location.search;
      }
    });
  }
})();
