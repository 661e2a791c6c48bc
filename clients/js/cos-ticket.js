// Upload one file with a ticket from the credential endpoint (browser; Node 18+ with
// fetch, FormData and Blob): no COS SDK and no keys in the page. The endpoint chooses
// the object key and signs exactly one request:
// - 'post': a PostObject form. The fields go first, in the order given, and the file
//   last under `fileField`. COS checks the policy, so a larger file, another key or
//   another type is refused (EntityTooLarge, AccessDenied).
// - 'put': a presigned PUT. Send the signed headers exactly. The browser sets
//   Content-Length from the body (fetch may not set it), and the endpoint signed that
//   length, so `size` must be the file's size.
// The result is {key, status}; any failure rejects with an Error carrying `code`
// (`no_login_token`, `network_error`, `timeout`, `bad_answer`, or the endpoint's own such
// as `ticket_denied`), `status` and `retryAfter` (the endpoint's), or `cosCode` (COS's
// <Code>). Both requests are bounded: `timeout` (10 s) for the ticket, `uploadTimeout`
// (60 s) for the upload.
// The page's origin must be in the function's cors.allowed_origins, and in the
// bucket's CORS rules for POST/PUT.
async function cosStsTicketUpload(settings) {
  var body = settings.file;              // a Blob or File
  var method = settings.method || 'post';
  var timeout = settings.timeout || 10000;              // ms for the ticket request
  var uploadTimeout = settings.uploadTimeout || 60000;  // ms for the upload to COS
  function problem(text, fields) { return Object.assign(new Error(text), fields); }
  async function send(url, options, ms) {   // fetch, bounded, its failures given our codes
    try {
      var response = await fetch(url, Object.assign({signal: AbortSignal.timeout(ms)}, options));
      return {response: response, text: await response.text()};
    } catch (error) {
      var late = error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw late ? problem('no answer from ' + url + ' within ' + ms + ' ms', {code: 'timeout'})
        : problem('network: ' + (error && error.message), {code: 'network_error'});
    }
  }
  var wanted = {method: method};
  if (settings.extension) wanted.extension = settings.extension;
  else wanted.contentType = settings.contentType || body.type;
  if (method === 'put' || settings.exactSize) wanted.size = body.size;
  var token;
  try { token = await settings.loginToken(); } catch (error) {
    throw problem('no login token: ' + ((error && error.message) || error), {code: 'no_login_token'});
  }
  if (typeof token !== 'string' || !token) {
    throw problem('no login token: sign the user in first', {code: 'no_login_token'});
  }
  var asked = await send(settings.url, {method: 'POST',
    headers: {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + token},
    body: JSON.stringify({profile: settings.profile, ticket: wanted})}, timeout);
  var answer;
  try { answer = JSON.parse(asked.text); } catch (error) { answer = {}; }
  var ticket = answer && answer.ticket;
  var usable = ticket && typeof ticket.url === 'string' && typeof ticket.key === 'string' &&
    (ticket.method === 'POST' ? ticket.fields && typeof ticket.fields === 'object' && typeof ticket.fileField === 'string'
      : ticket.method === 'PUT' && ticket.headers && typeof ticket.headers === 'object');
  if (!asked.response.ok || !usable) {
    var error = (answer && answer.error) || {};
    throw problem(error.message || 'no ticket (' + asked.response.status + ')', {
      status: asked.response.status,
      code: error.code || 'bad_answer',
      retryAfter: Number(asked.response.headers.get('Retry-After')) || undefined,
    });
  }
  var sent;
  if (ticket.method === 'POST') {
    var form = new FormData();
    Object.keys(ticket.fields).forEach(function (name) { form.append(name, ticket.fields[name]); });
    form.append(ticket.fileField, body);
    sent = await send(ticket.url, {method: 'POST', body: form}, uploadTimeout);
  } else {
    var signed = {};
    Object.keys(ticket.headers).forEach(function (name) {
      if (name.toLowerCase() !== 'content-length') signed[name] = ticket.headers[name];
    });
    sent = await send(ticket.url, {method: 'PUT', headers: signed, body: body}, uploadTimeout);
  }
  if (!sent.response.ok) {
    throw problem('COS refused the upload (' + sent.response.status + ')', {
      status: sent.response.status,
      cosCode: (/<Code>([^<]*)<\/Code>/.exec(sent.text) || [])[1] || '',
    });
  }
  return {key: ticket.key, status: sent.response.status};
}

if (typeof module !== 'undefined' && module.exports) module.exports = cosStsTicketUpload;
