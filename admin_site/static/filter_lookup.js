// Suggest related labels (e.g. customer e-mails) while typing in a big related-table filter.
(function () {
  document.querySelectorAll("input[data-lookup-url]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var term = input.value.trim();
      if (term.length < 2) { return; }
      timer = setTimeout(function () {
        var url = input.dataset.lookupUrl + "&term=" + encodeURIComponent(term);
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) {
            list.replaceChildren.apply(list, data.results.map(function (label) {
              var option = document.createElement("option");
              option.value = label;
              return option;
            }));
          });
      }, 200);
    });
  });
})();
