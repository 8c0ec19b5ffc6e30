// Behaviour our own pages need, bound from data attributes: the Content-Security-Policy
// forbids inline scripts and on…= handlers (#13 item 6).
document.addEventListener("click", function (event) {
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
