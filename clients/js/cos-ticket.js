// Upload one file with a ticket from the credential endpoint (browser; Node 18+ with
// fetch, FormData and Blob): no COS SDK and no keys in the page. The endpoint chooses
// the object key and signs exactly one request:
// - 'post': a PostObject form. The fields go first, in the order given, and the file
//   last under `fileField`. COS checks the policy, so a larger file, another key or
//   another type is refused (EntityTooLarge, AccessDenied).
// - 'put': a presigned PUT. Send the signed headers exactly. The browser sets
//   Content-Length from the body (fetch may not set it), and the endpoint signed that
//   length, so `size` must be the file's size.
// The result is {key, status}; any failure rejects with an Error carrying `code`, `status`
// and `retryAfter` (the endpoint's) or `cosCode` (COS's <Code>).
// The page's origin must be in the function's cors.allowed_origins, and in the
// bucket's CORS rules for POST/PUT.
async function cosStsTicketUpload(settings) {
  var body = settings.file;              // a Blob or File
  var method = settings.method || 'post';
  var wanted = {method: method};
  if (settings.extension) wanted.extension = settings.extension;
  else wanted.contentType = settings.contentType || body.type;
  if (method === 'put' || settings.exactSize) wanted.size = body.size;
  var headers = {'Content-Type': 'application/json'};
  headers['Authorization'] = 'Bearer ' + (await settings.loginToken());
  var asked = await fetch(settings.url, {method: 'POST', headers: headers,
    body: JSON.stringify({profile: settings.profile, ticket: wanted})});
  var answer = await asked.json().catch(function () { return {}; });
  if (!asked.ok || !answer.ticket) {
    var failure = new Error((answer.error && answer.error.message) || 'no ticket (' + asked.status + ')');
    failure.status = asked.status;
    failure.code = (answer.error && answer.error.code) || 'bad_answer';
    failure.retryAfter = Number(asked.headers.get('Retry-After')) || undefined;
    throw failure;
  }
  var ticket = answer.ticket;
  var sent;
  if (ticket.method === 'POST') {
    var form = new FormData();
    Object.keys(ticket.fields).forEach(function (name) { form.append(name, ticket.fields[name]); });
    form.append(ticket.fileField, body);
    sent = await fetch(ticket.url, {method: 'POST', body: form});
  } else {
    var signed = {};
    Object.keys(ticket.headers).forEach(function (name) {
      if (name.toLowerCase() !== 'content-length') signed[name] = ticket.headers[name];
    });
    sent = await fetch(ticket.url, {method: 'PUT', headers: signed, body: body});
  }
  if (!sent.ok) {
    var text = await sent.text();
    var refused = new Error('COS refused the upload (' + sent.status + ')');
    refused.status = sent.status;
    refused.cosCode = (/<Code>([^<]*)<\/Code>/.exec(text) || [])[1] || '';
    throw refused;
  }
  return {key: ticket.key, status: sent.status};
}

if (typeof module !== 'undefined' && module.exports) module.exports = cosStsTicketUpload;
