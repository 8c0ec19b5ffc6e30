// Behaviour our own pages need, bound from data attributes: the Content-Security-Policy
// forbids inline scripts and on…= handlers (#13 item 6).
document.addEventListener("click", function (event) {
  // Flask-Admin's menu items and filter choices are links to "#" (they were javascript:
  // links, which the policy blocks): their own handlers act, the page must not jump.
  if (event.target.closest('a[href="#"]')) {
    event.preventDefault();
  }
  var target = event.target.closest("[data-desk-action]");
  if (!target) {
    return;
  }
  var action = target.getAttribute("data-desk-action");
  if (action === "print") {
    event.preventDefault();
    window.print();
  } else if (action === "back" && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
