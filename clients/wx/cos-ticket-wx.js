// Upload one file from a WeChat mini program with a ticket from the credential
// endpoint: no COS SDK and no keys in the mini program. Tencent's mini-program
// direct-upload guide (COS doc 436/34929) shows this shape: the server picks the key
// and signs, and wx.uploadFile sends the form. Add the endpoint's domain to the
// "request" allow-list and the bucket's domain to "uploadFile".
//
// wx.request and wx.uploadFile call `success` for every HTTP status, so the status
// is checked here. `done(error, result)` is called exactly once, on every path (a
// throwing or rejecting loginToken included): result is {key, statusCode}. error has
// `code` (`no_login_token`, `network_error`, `timeout`, `bad_answer`, or the endpoint's
// own such as `ticket_denied`), `status` and `retryAfter` (the endpoint's), or
// `cosCode` (COS's <Code>). loginToken may return the token or a Promise of it.
function cosStsTicketUploadWx(settings, done) {
  var once = false;
  function finish(error, result) { if (!once) { once = true; done(error, result); } }
  function problem(text, fields) {
    var error = new Error(text);
    Object.keys(fields || {}).forEach(function (name) { error[name] = fields[name]; });
    return error;
  }
  function guarded(body) {   // a throw inside a wx callback still ends in done(error)
    return function (value) {
      try { body(value); } catch (error) {
        finish(problem('ticket upload: ' + (error && error.message), {code: 'client_error'}));
      }
    };
  }
  function networkCode(error) { return /timeout/.test(error && error.errMsg) ? 'timeout' : 'network_error'; }
  var extension = settings.extension || (/\.([A-Za-z0-9]+)$/.exec(settings.filePath) || [])[1];
  Promise.resolve().then(settings.loginToken).then(function (token) {
    if (!token || typeof token !== 'string') {
      return finish(problem('no login token: sign the user in first', {code: 'no_login_token'}));
    }
    wx.request({
      url: settings.url, method: 'POST', timeout: settings.timeout || 10000,
      header: {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'},
      data: JSON.stringify({profile: settings.profile, ticket: {method: 'post', extension: extension}}),
      success: guarded(function (res) {
        var answer = typeof res.data === 'string' ? safeJson(res.data) : (res.data || {});
        var ticket = answer.ticket;
        if (res.statusCode !== 200 || !ticket || typeof ticket.url !== 'string' || !ticket.fields) {
          var header = res.header || {};
          return finish(problem((answer.error && answer.error.message) || 'no ticket (' + res.statusCode + ')', {
            status: res.statusCode, code: (answer.error && answer.error.code) || 'bad_answer',
            retryAfter: Number(header['Retry-After'] || header['retry-after']) || undefined}));
        }
        wx.uploadFile({
          url: ticket.url, filePath: settings.filePath, name: ticket.fileField,
          formData: ticket.fields, timeout: settings.uploadTimeout || 60000,
          success: guarded(function (sent) {
            if (sent.statusCode >= 200 && sent.statusCode < 300) {
              return finish(null, {key: ticket.key, statusCode: sent.statusCode});
            }
            var code = (/<Code>([^<]*)<\/Code>/.exec(String(sent.data)) || [])[1] || '';
            finish(problem('COS refused the upload (' + sent.statusCode + ')', {status: sent.statusCode, cosCode: code}));
          }),
          fail: function (error) { finish(problem('upload failed: ' + (error && error.errMsg), {code: networkCode(error)})); },
        });
      }),
      fail: function (error) { finish(problem('endpoint unreachable: ' + (error && error.errMsg), {code: networkCode(error)})); },
    });
  }).catch(function (error) {   // loginToken threw or rejected, or wx.request threw
    finish(error && typeof error.code === 'string' ? error
      : problem('no login token: ' + ((error && error.message) || error), {code: 'no_login_token'}));
  });
}

function safeJson(text) { try { return JSON.parse(text); } catch (error) { return {}; } }

if (typeof module !== 'undefined' && module.exports) module.exports = cosStsTicketUploadWx;
