// Starts Swagger UI on this server's own OpenAPI document (no request leaves the server).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // the default would send the document to validator.swagger.io
    docExpansion: "list", // every operation listed, none opened
  });
});
