// Photos downscaled on the phone before upload, shared by the phone pages (field.js) and the
// owners' H5 (h5.js): a 4 MB phone photo leaves as a ~300 KB JPEG. The server still checks,
// re-encodes and strips every file (models/attachments.py); this only saves the owner's data plan.
(function () {
  "use strict";
  var MAX_SIDE = 1600;
  var QUALITY = 0.85;

  function loadImage(file) {
    // Read as a data: URL (the policy allows data: images, not blob:).
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        var img = new Image();
        img.onload = function () { resolve(img); };
        img.onerror = reject;
        img.src = reader.result;
      };
      reader.onerror = reject;
      reader.readAsDataURL(file);
    });
  }

  function downscale(file) {
    // A 4 MB phone photo leaves as a ~300 KB JPEG; anything not drawable goes as it is.
    if (!window.HTMLCanvasElement || !HTMLCanvasElement.prototype.toBlob) {
      return Promise.resolve({ blob: file, preview: null });
    }
    return loadImage(file).then(function (img) {
      var scale = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
      canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve({ blob: blob || file, preview: canvas.toDataURL("image/jpeg", 0.5) });
        }, "image/jpeg", QUALITY);
      });
    }, function () {
      return { blob: file, preview: null };
    });
  }

  window.PhotoDownscale = { downscale: downscale };
})();
