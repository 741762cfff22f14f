// The worklist keeps itself up to date without a reload: every few seconds (data-poll) it asks
// /worklist/version whether the log changed (a check or a review recorded); when it did, it
// fetches this page again and puts its counts and list ([data-live]) in place of the ones shown,
// with the page's title (the count of unreviewed emergencies). The filters form is left as it
// is, and a patient's folded checks stay open. Without JavaScript the page works as before.
(function () {
  var status = document.getElementById("live-status");
  if (!status || !window.fetch || !window.DOMParser) return;
  var version = status.getAttribute("data-version");
  var every = 1000 * (Number(status.getAttribute("data-poll")) || 15);

  function opened() {
    var found = {};
    document.querySelectorAll("details.others[open]").forEach(function (d) {
      found[d.getAttribute("data-patient")] = true;
    });
    return found;
  }

  function refresh() {
    return fetch(window.location.href, {
      credentials: "same-origin",
      headers: { "X-Triage-Live": "1" }
    }).then(function (response) {
      if (response.redirected || !response.ok && response.status !== 400) throw response;
      return response.text();
    }).then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html");
      var fresh = page.getElementById("live-status");
      if (!fresh) return;
      var open = opened();
      document.querySelectorAll("[data-live]").forEach(function (shown) {
        var next = page.getElementById(shown.id);
        if (next) shown.replaceWith(document.adoptNode(next));
      });
      document.querySelectorAll("details.others").forEach(function (d) {
        if (open[d.getAttribute("data-patient")]) d.open = true;
      });
      document.title = page.title;
      version = fresh.getAttribute("data-version");
      status.setAttribute("data-version", version);
      var time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      var count = page.getElementById("new-count");
      status.textContent = "Updated at " + time + (count ? ": " + count.textContent : ".");
    });
  }

  function poll() {
    fetch("/worklist/version", {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (response.redirected || !response.ok) throw response;  // signed out: stop asking
      return response.json();
    }).then(function (now) {
      if (now.version !== version) return refresh();
    }).then(function () {
      window.setTimeout(poll, every);
    }, function (problem) {
      if (!(problem && problem.redirected)) window.setTimeout(poll, every * 2);
    });
  }

  window.setTimeout(poll, every);
})();
