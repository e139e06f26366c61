// /api/docs: Swagger UI on this site's OpenAPI document. validatorUrl null: no request to swagger.io.
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui");
  if (!box || !window.SwaggerUIBundle) return;
  window.SwaggerUIBundle({
    url: box.dataset.url, domNode: box, deepLinking: true, validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis], layout: "BaseLayout",
    supportedSubmitMethods: ["get"],  // try-it-out reads only: writes need a token and CSRF
  });
})();
