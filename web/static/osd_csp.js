// OpenSeadragon adds a <style> element of its own unless an element style[data-openseadragon-mobile-css]
// exists; the site's CSP (style-src 'self') refuses inline styles. The mark is given here as an element
// named "style" outside the HTML namespace: selectors find it, no browser reads it as a style sheet.
// (The rule it stands for, no focus ring on touch screens, is one the site does not want anyway.)
(function () {
  "use strict";
  if (!document.querySelector("style[data-openseadragon-mobile-css]")) {
    var mark = document.createElementNS("urn:x-fangzhi:mark", "style");
    mark.setAttribute("data-openseadragon-mobile-css", "true");
    document.head.appendChild(mark);
  }
})();
