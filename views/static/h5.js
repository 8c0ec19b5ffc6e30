// The owners' H5 (issue #17): the photos of a report are downscaled on the phone (photos.js)
// and put back into the file input, so the form still posts as a plain form. At most
// data-max photos are kept. No inline script (Content-Security-Policy); without this file
// the form posts the original photos and the server decides.
(function () {
  "use strict";
  if (!window.PhotoDownscale || !window.DataTransfer) {
    return;
  }

  // The page's words (h5/base.html): the English switch reaches what this file says too.
  var texts = JSON.parse(document.body.getAttribute("data-texts") || "{}");
  function text(key, n) {
    return (texts[key] || "").split("{n}").join(String(n));
  }

  document.querySelectorAll("input[data-h5-photos]").forEach(function (input) {
    var form = input.form;
    var max = parseInt(input.getAttribute("data-max"), 10) || 4;
    var box = form.querySelector('[data-previews-for="' + input.name + '"]');
    var note = form.querySelector('[data-photo-note-for="' + input.name + '"]');
    var button = form.querySelector("button[type=submit]");
    var busy = false;

    function take() {
      if (busy) {
        return;
      }
      var files = Array.prototype.slice.call(input.files || []);
      if (note) {
        note.textContent = files.length > max ? text("too_many", max) : "";
      }
      files = files.slice(0, max);
      busy = true;
      button.disabled = true;
      Promise.all(files.map(window.PhotoDownscale.downscale)).then(function (done) {
        var chosen = new DataTransfer();
        if (box) {
          box.textContent = "";
        }
        done.forEach(function (item, i) {
          var blob = item.blob;
          var name = blob === files[i] ? files[i].name : "photo-" + (i + 1) + ".jpg";
          chosen.items.add(new File([blob], name, { type: blob.type || "image/jpeg" }));
          if (box && item.preview) {
            var img = document.createElement("img");
            img.src = item.preview;
            img.alt = text("photo", i + 1);
            box.appendChild(img);
          }
        });
        input.files = chosen.files;
      }).then(function () {
        busy = false;
        button.disabled = false;
      }, function () {
        busy = false;
        button.disabled = false;
      });
    }
    input.addEventListener("change", take);
    // Photos chosen before this file arrived (a slow phone network) are taken now: the owner
    // sees them and they still leave downscaled.
    if (input.files && input.files.length) {
      take();
    }
  });
})();
