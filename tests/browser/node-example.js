// The Node example in docs/clients.md, run by tests/test_node_sdk.py against the local stack:
// cos-nodejs-sdk-v5 uploads a file into the user's folder and downloads it again,
// with keys from the credential endpoint through the documented adapter. As docs/clients.md
// says, cos-auth.js (clients/js/cos-auth.js) sits beside this file: the
// test copies both into a folder and runs them with NODE_PATH=tests/browser/node_modules,
// the settings as JSON on standard input (a token never goes on a command line):
//
//   {"url": ..., "loginToken": ..., "bucket": ..., "region": ..., "folder": "users/alice/",
//    "file": ..., "cosOptions": {"Ip": "127.0.0.1:PORT", "Protocol": "http:"}}
//
// Prints one JSON line: the key uploaded and downloaded, or the error.
'use strict';

// docs/clients.md: begin
const path = require('path');
const COS = require('cos-nodejs-sdk-v5');              // 3.0.0
const cosStsAuthorization = require('./cos-auth.js');  // the adapter above, as is (Node 18+)

async function roundTrip({url, loginToken, bucket, region, folder, file, cosOptions}) {
  const cos = new COS({
    getAuthorization: cosStsAuthorization({url, loginToken, profile: 'read-write'}),
    ...cosOptions,  // make run's local COS: {Ip: '127.0.0.1:9001', Protocol: 'http:'}
  });
  const where = {Bucket: bucket, Region: region};
  const key = folder + path.basename(file);  // inside the user's folder, e.g. users/alice/
  await cos.uploadFile({...where, Key: key, FilePath: file, SliceSize: 1024 * 1024});
  await cos.downloadFile({...where, Key: key, FilePath: file + '.downloaded'});
  return key;
}
// docs/clients.md: end

async function main() {
  const settings = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const token = settings.loginToken;
  try {
    const key = await roundTrip({...settings, loginToken: () => token});
    console.log(JSON.stringify({ok: true, key}));
  } catch (error) {
    const detail = {code: error.code, statusCode: error.statusCode, message: error.message};
    console.log(JSON.stringify({ok: false, error: detail}));
    process.exitCode = 1;
  }
}

main();
