// The phone page (手机工单): photos downscaled on the phone before upload, the owner's signature
// drawn on a canvas, and posts that survive a basement — a failed upload keeps the typed text and
// the photos in the page and is retried with the same key, which the server applies only once.
// No inline script anywhere (Content-Security-Policy); without this file the forms still post.
(function () {
  "use strict";
  var downscale = window.PhotoDownscale.downscale;
  // The page's words (field/base.html): the English switch reaches what this file says too.
  var texts = JSON.parse(document.body.getAttribute("data-texts") || "{}");
  function text(key, n) {
    return (texts[key] || "").split("{n}").join(String(n));
  }

  function setupPhotos(form, photos) {
    form.querySelectorAll("input[data-photos]").forEach(function (input) {
      photos[input.name] = [];
      var box = form.querySelector('[data-previews-for="' + input.name + '"]');
      function take() {
        var files = Array.prototype.slice.call(input.files || []);
        // The page keeps the (downscaled) photos itself: a retry sends them again.
        Promise.all(files.map(downscale)).then(function (done) {
          done.forEach(function (item) {
            photos[input.name].push(item.blob);
            if (box && item.preview) {
              var img = document.createElement("img");
              img.src = item.preview;
              img.alt = text("photo");
              box.appendChild(img);
            }
          });
          input.value = "";
          input.removeAttribute("required");
        });
      }
      input.addEventListener("change", take);
      // Photos chosen before this file arrived (a slow network) are taken now, as if just chosen.
      if (input.files && input.files.length) {
        take();
      }
    });
  }

  function setupSignature(form) {
    var canvas = form.querySelector("canvas[data-signature]");
    if (!canvas) {
      return null;
    }
    var ctx = canvas.getContext("2d");
    var pad = { canvas: canvas, signed: false };
    function clear() {
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      pad.signed = false;
    }
    clear();
    ctx.lineWidth = 4;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
    var drawing = false;
    function point(event) {
      var box = canvas.getBoundingClientRect();
      return { x: (event.clientX - box.left) * canvas.width / box.width,
               y: (event.clientY - box.top) * canvas.height / box.height };
    }
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      if (canvas.setPointerCapture) {
        canvas.setPointerCapture(event.pointerId);
      }
      var p = point(event);
      ctx.beginPath();
      ctx.moveTo(p.x, p.y);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) {
        return;
      }
      var p = point(event);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      pad.signed = true;
      event.preventDefault();
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      canvas.addEventListener(name, function () { drawing = false; });
    });
    var reset = form.querySelector("[data-signature-clear]");
    if (reset) {
      reset.addEventListener("click", clear);
    }
    return pad;
  }

  function showErrors(form, errors) {
    form.querySelectorAll("[data-error-for]").forEach(function (box) {
      var messages = errors[box.getAttribute("data-error-for")] || [];
      box.textContent = messages.join("；");
      box.hidden = messages.length === 0;
    });
    form.querySelectorAll("[data-error]").forEach(function (box) { box.remove(); });
    var top = document.querySelector('[data-error-for=""]');
    if (top) {
      top.textContent = (errors[""] || []).join("；");
      top.hidden = !(errors[""] || []).length;
    }
  }

  function setupForm(form) {
    var photos = {};
    setupPhotos(form, photos);
    var pad = setupSignature(form);
    var status = form.querySelector("[data-status]");
    var button = form.querySelector("button[type=submit]");
    var attempt = 0;
    var timer = null;

    function say(text, bad) {
      if (status) {
        status.textContent = text;
        status.className = "status" + (bad ? " bad" : "");
      }
    }

    function body() {
      return new Promise(function (resolve) {
        var data = new FormData(form);
        Object.keys(photos).forEach(function (name) {
          data.delete(name);
          photos[name].forEach(function (blob, i) {
            data.append(name, blob, name + "-" + (i + 1) + ".jpg");
          });
        });
        if (pad && pad.signed) {
          pad.canvas.toBlob(function (blob) {
            data.append(pad.canvas.getAttribute("data-signature"), blob, "signature.png");
            resolve(data);
          }, "image/png");
        } else {
          resolve(data);
        }
      });
    }

    function send() {
      timer = null;
      attempt += 1;
      button.disabled = true;
      say(attempt > 1 ? text("retrying", attempt) : text("saving"), false);
      body().then(function (data) {
        return fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                                    headers: { Accept: "application/json" } });
      }).then(function (response) {
        if (response.status >= 500 || response.status === 408 || response.status === 429) {
          throw new Error("HTTP " + response.status);
        }
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          button.disabled = false;
          say(response.status === 413 ? text("too_big") : text("failed", response.status), true);
          return null;
        }
        return response.json().then(function (answer) {
          if (answer.ok) {
            say(answer.message, false);
            window.location.assign(answer.redirect);
            return;
          }
          button.disabled = false;
          showErrors(form, answer.errors || {});
          say(text("fix"), true);
        });
      }).catch(function () {
        // Network gone or the server busy: everything stays in the page; try again soon.
        var wait = Math.min(30, 2 * Math.pow(2, Math.min(attempt - 1, 4)));
        say(text("offline", wait), true);
        button.disabled = false;
        timer = window.setTimeout(send, wait * 1000);
      });
    }

    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData) {
        return; // an old browser posts the plain form
      }
      event.preventDefault();
      if (timer) {
        window.clearTimeout(timer);
      }
      send();
    });
  }

  document.querySelectorAll("form[data-field-form]").forEach(setupForm);
})();
