// Show SQLAdmin's flash messages (templates/sqladmin/flash.html): a file, because the CSP allows no inline scripts.
(function () {
  document.querySelectorAll(".toast.admin-toast").forEach(function (element) {
    new window.tabler.bootstrap.Toast(element, { delay: 3000 }).show();
  });
})();
