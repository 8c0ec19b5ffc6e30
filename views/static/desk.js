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

// The date-time picker (daterangepicker + moment, shipped inside Flask-Admin) in the page's
// language: Chinese month and day names, the week starting on Monday, 24-hour times (#12
// item 2). The language comes from <meta name="desk-locale"> (admin/master.html).
(function () {
  var meta = document.querySelector('meta[name="desk-locale"]');
  var lang = meta && meta.content === "en" ? "en" : "zh-cn";
  var LABELS = {
    "zh-cn": {applyLabel: "确定", cancelLabel: "取消", fromLabel: "从", toLabel: "至",
              weekLabel: "周", customRangeLabel: "自定义"},
    "en": {applyLabel: "OK", cancelLabel: "Cancel", fromLabel: "From", toLabel: "To",
           weekLabel: "W", customRangeLabel: "Custom"}
  };
  if (window.moment) {
    if (lang === "zh-cn") {
      // moment 2.9's locale(name, values) defines the locale and makes it the global one.
      window.moment.locale("zh-cn", {
        months: "一月_二月_三月_四月_五月_六月_七月_八月_九月_十月_十一月_十二月".split("_"),
        monthsShort: "1月_2月_3月_4月_5月_6月_7月_8月_9月_10月_11月_12月".split("_"),
        weekdays: "星期日_星期一_星期二_星期三_星期四_星期五_星期六".split("_"),
        weekdaysShort: "周日_周一_周二_周三_周四_周五_周六".split("_"),
        weekdaysMin: "日_一_二_三_四_五_六".split("_"),
        longDateFormat: {LT: "HH:mm", LTS: "HH:mm:ss", L: "YYYY-MM-DD", LL: "YYYY年M月D日",
                         LLL: "YYYY年M月D日 HH:mm", LLLL: "YYYY年M月D日dddd HH:mm"},
        meridiem: function (hour) { return hour < 12 ? "上午" : "下午"; },
        week: {dow: 1, doy: 4}
      });
    } else {
      // The office's weeks start on Monday in English too.
      window.moment.locale("en", {week: {dow: 1, doy: 4}});
    }
  }
  if (!window.jQuery) {
    return;
  }
  // Registered before Flask-Admin's form.js (loaded after this file), so this runs before it
  // builds the pickers: every picker it builds gets our labels and a 24-hour clock.
  window.jQuery(function ($) {
    var build = $.fn.daterangepicker;
    if (!build) {
      return;
    }
    // A whole date and time as the office types it (2026-11-26 14:30, seconds optional).
    var TYPED = /^\s*\d{4}-\d{1,2}-\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?\s*$/;
    $.fn.daterangepicker = function (options, callback) {
      options = $.extend({}, options || {}, {timePicker12Hour: false});
      options.locale = $.extend({}, LABELS[lang], options.locale || {});
      var built = build.call(this, options, callback);
      // The picker re-read the field on every key and wrote its reading back, so typing
      // "2026-…" became "0002-01-01 00:00:00026-…" (#12 "Done when": the clerk types dates).
      // Read the field when the typing is done (change), and only a whole, valid date; the
      // server checks whatever else was typed, next to the field.
      this.each(function () {
        var $field = $(this);
        var picker = $field.data("daterangepicker");
        if (!picker || !$field.is("input")) {
          return;
        }
        $field.off("keyup.daterangepicker");
        $field.on("input.desk", function () {
          // Closing the picker writes its own date back if it moved since it opened: what
          // was typed since then wins, so the picker's date counts as not moved.
          picker.oldStartDate = picker.startDate.clone();
          picker.oldEndDate = picker.endDate.clone();
        });
        $field.on("change.desk", function () {
          var text = $field.val();
          if (TYPED.test(text) && window.moment(text.trim(), picker.format).isValid()) {
            picker.updateFromControl();
          }
        });
      });
      return built;
    };
  });
})();

// Compact grids (#12 item 9): a grid cell cut short with … (desk.css) shows its whole text on
// hover. Only cells actually cut get a title, checked again when the window is resized.
(function () {
  function markCut() {
    var cells = document.querySelectorAll(".model-list td, .model-list th");
    Array.prototype.forEach.call(cells, function (cell) {
      if (cell.classList.contains("list-buttons-column")) {
        return;
      }
      var cut = cell.scrollWidth > cell.clientWidth + 1;
      if (cut && !cell.hasAttribute("data-desk-cut")) {
        cell.setAttribute("title", cell.textContent.replace(/\s+/g, " ").trim());
        cell.setAttribute("data-desk-cut", "");
      } else if (!cut && cell.hasAttribute("data-desk-cut")) {
        cell.removeAttribute("title");
        cell.removeAttribute("data-desk-cut");
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", markCut);
  } else {
    markCut();
  }
  window.addEventListener("resize", markCut);
})();
