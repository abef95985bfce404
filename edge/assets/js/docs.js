// The API reference page: Swagger UI (npm swagger-ui-dist, copied next to the pages by
// scripts/build-edge.sh) rendering the OpenAPI document this edge serves, with "Try it out"
// sending real requests to this same edge (sign up or log in, then Authorize with the token).

import { say } from './shell.js';

const status = document.getElementById('status');

function start() {
  if (typeof window.SwaggerUIBundle !== 'function') {
    say(status, 'The API reference viewer did not load; the document is at /api/v1/openapi.json.', 'bad');
    return;
  }
  window.SwaggerUIBundle({
    url: '/api/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    // One request per operation: the document is ours and small, no search box needed.
    filter: false,
    displayRequestDuration: true,
    // Requests made from the page carry the session cookie as the edge's own pages do.
    withCredentials: true,
    onComplete: () => {
      say(status, '');
      status.hidden = true;
      document.body.dataset.ready = 'true';
    },
  });
}

start();
