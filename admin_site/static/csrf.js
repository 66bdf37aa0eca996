// Send the session's CSRF token (<meta name="csrf-token">) with every same-site state-changing request:
// jQuery ajax (SQLAdmin's delete), fetch, and any POST form that lacks its hidden csrf_token field.
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!meta) { return; }
  var token = meta.getAttribute("content");
  var SAFE = /^(GET|HEAD|OPTIONS|TRACE)$/i;

  function sameOrigin(url) {
    try {
      return new URL(url, window.location.href).origin === window.location.origin;
    } catch (error) {
      return false;
    }
  }

  if (window.jQuery) {
    window.jQuery.ajaxPrefilter(function (options, originalOptions, xhr) {
      if (!SAFE.test(options.type || "GET") && sameOrigin(options.url)) {
        xhr.setRequestHeader("X-CSRF-Token", token);
      }
    });
  }

  if (window.fetch) {
    var originalFetch = window.fetch;
    window.fetch = function (input, init) {
      var isRequest = typeof Request !== "undefined" && input instanceof Request;
      var method = (init && init.method) || (isRequest ? input.method : "GET");
      var url = isRequest ? input.url : String(input);
      if (!SAFE.test(method) && sameOrigin(url)) {
        var headers = new Headers((init && init.headers) || (isRequest ? input.headers : undefined));
        if (!headers.has("X-CSRF-Token")) { headers.set("X-CSRF-Token", token); }
        init = Object.assign({}, init, { headers: headers });
      }
      return originalFetch.call(this, input, init);
    };
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "post") { return; }
    if (!sameOrigin(form.action) || form.querySelector('input[name="csrf_token"]')) { return; }
    var field = document.createElement("input");
    field.type = "hidden";
    field.name = "csrf_token";
    field.value = token;
    form.appendChild(field);
  }, true);
})();
