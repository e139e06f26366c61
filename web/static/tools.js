// The item page's copy buttons (citations, permalink) and the system share sheet where there is one.
(function () {
  "use strict";
  function copied(button) {
    var label = button.textContent;
    button.textContent = button.dataset.done || "✓";
    setTimeout(function () { button.textContent = label; }, 1500);
  }
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      var text = source.value !== undefined ? source.value : source.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { copied(button); });
      } else {  // plain http: select the text and copy it
        var range = document.createRange();
        if (source.select) source.select(); else { range.selectNodeContents(source); getSelection().removeAllRanges(); getSelection().addRange(range); }
        document.execCommand("copy");
        copied(button);
      }
    });
  });
  var share = document.querySelector("button.share-native");
  if (share && navigator.share) {
    share.hidden = false;
    share.addEventListener("click", function () {
      navigator.share({ title: share.dataset.title, url: share.dataset.url }).catch(function () {});
    });
  }
})();
