// Presses the "Yes, subscribe me" button of /confirm/<token> for people with JavaScript on,
// so a click in the mail is enough. Mail scanners that only fetch the link never run this,
// and the page works without it. It waits until the page is actually shown: a prerendered
// or background tab has not been looked at by anyone yet.
(function () {
  var form = document.querySelector("form[data-auto-submit]");
  if (!form) {
    return;
  }
  var sent = false;
  function submitWhenShown() {
    if (sent || document.prerendering || document.visibilityState !== "visible") {
      return;
    }
    sent = true;
    form.submit();
  }
  document.addEventListener("visibilitychange", submitWhenShown);
  document.addEventListener("prerenderingchange", submitWhenShown);
  submitWhenShown();
})();
