// conso /docs: starts Swagger UI (swagger-ui-bundle.js, vendored from the npm package
// swagger-ui-dist; see docs/portal.md) on the OpenAPI document named by the page, from a
// file rather than an inline script, so the page's Content-Security-Policy can forbid
// inline scripts. No online validator badge: the page loads nothing from elsewhere.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    window.ui = SwaggerUIBundle({
      url: root.getAttribute("data-openapi-url"),
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      deepLinking: true,
      showExtensions: true,
      showCommonExtensions: true,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis]
    });
  });
}());
