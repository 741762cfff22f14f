// The sign-in form sends the browser's time zone, so that pages show times where the
// clinician is; without it (no JavaScript) the account's time zone is used.
(function () {
  var field = document.getElementById("time_zone");
  try {
    if (field) field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) { /* an old browser: the account's zone */ }
})();
