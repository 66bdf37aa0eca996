// "Delete selected items" names the version of each row the page showed (admin_site/writes.py):
// a row someone changed since is not deleted, and neither is any other (one transaction).
// Each row's own delete link already carries its version (`...?pks=7&versions=3`); read it there.
(function () {
  if (!window.jQuery) { return; }
  var $ = window.jQuery;
  $("#action-delete").on("click", function () {  // runs after SQLAdmin's handler has set data-url
    var versions = [];
    var complete = true;
    $(".select-box:checked").each(function () {
      var link = $(this).closest("tr").find("a[data-pk][data-url]").first();
      var match = link.length ? /[?&]versions=(\d+)/.exec(link.attr("data-url")) : null;
      if (match) { versions.push(match[1]); } else { complete = false; }
    });
    var url = $(this).data("url") || "";
    if (complete && versions.length && url.indexOf("versions=") === -1) {
      $(this).data("url", url + "&versions=" + versions.join(","));
    }
  });
})();
