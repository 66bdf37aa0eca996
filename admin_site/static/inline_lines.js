// Inline lines of a form (templates/shop/_inline_lines.html): add and remove rows, look the chosen row up
// by typing (its key goes in a hidden field), and fill the line's defaults (the product's price) when empty.
(function () {
  document.querySelectorAll(".inline-lines").forEach(function (fieldset) {
    var tbody = fieldset.querySelector("tbody");
    var template = fieldset.querySelector(".line-template");
    var lookupUrl = fieldset.dataset.lookupUrl;
    var defaults = JSON.parse(fieldset.dataset.defaults || "{}");

    function nextIndex() {
      var highest = -1;
      tbody.querySelectorAll(".inline-line").forEach(function (row) {
        var index = parseInt(row.dataset.prefix.split("-").pop(), 10);
        if (index > highest) { highest = index; }
      });
      return highest + 1;
    }

    function watch(row) {
      var input = row.querySelector(".line-chooser");
      var chosen = row.querySelector(".line-chosen");
      var list = row.querySelector("datalist");
      var found = {};
      var timer = null;
      input.addEventListener("input", function () {
        var match = found[input.value];
        if (match) {
          chosen.value = match.id;
          Object.keys(defaults).forEach(function (field) {
            var target = row.querySelector('[data-field="' + field + '"]');
            if (target && !target.value && match.defaults[field] !== undefined) { target.value = match.defaults[field]; }
          });
          return;
        }
        chosen.value = "";
        clearTimeout(timer);
        var term = input.value.trim();
        if (term.length < 2) { return; }
        timer = setTimeout(function () {
          fetch(lookupUrl + "?term=" + encodeURIComponent(term), { credentials: "same-origin", headers: { Accept: "application/json" } })
            .then(function (response) { return response.ok ? response.json() : { results: [] }; })
            .then(function (data) {
              found = {};
              list.replaceChildren.apply(list, data.results.map(function (result) {
                found[result.text] = result;
                var option = document.createElement("option");
                option.value = result.text;
                return option;
              }));
            });
        }, 200);
      });
      var remove = row.querySelector(".line-remove");
      if (remove) { remove.addEventListener("click", function () { row.remove(); }); }
      var drop = row.querySelector(".line-delete");
      if (drop) { drop.addEventListener("change", function () { row.classList.toggle("d-none", drop.checked); }); }
    }

    tbody.querySelectorAll(".inline-line").forEach(watch);
    fieldset.querySelector(".line-add").addEventListener("click", function () {
      var html = template.innerHTML.replace(/__index__/g, String(nextIndex()));
      tbody.insertAdjacentHTML("beforeend", html);
      var row = tbody.lastElementChild;
      watch(row);
      row.querySelector(".line-chooser").focus();
    });
  });
})();
