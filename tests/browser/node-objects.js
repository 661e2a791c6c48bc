// Run by tests/test_node_sdk_objects.py: cos-nodejs-sdk-v5 against the local COS with keys
// the function issued (settings as JSON on standard input). Each case prints one JSON line
// {case, ok, data | error}; the test asserts on them.
'use strict';

const fs = require('fs');
const COS = require('cos-nodejs-sdk-v5');

function call(cos, method, params) {
  return new Promise((resolve) => {
    cos[method](params, (error, data) => resolve(error ? {ok: false, error: {
      statusCode: error.statusCode, code: error.code || (error.error && error.error.Code),
      message: error.message}} : {ok: true, data}));
  });
}

async function main() {
  const s = JSON.parse(fs.readFileSync(0, 'utf8'));
  const cos = new COS({SecretId: s.id, SecretKey: s.key, SecurityToken: s.token,
                       Ip: s.ip, Protocol: 'http:', ChunkRetryTimes: 0});
  const at = {Bucket: s.bucket, Region: s.region};
  const source = (key) => `${s.bucket}.cos.${s.region}.myqcloud.com/${key}`;
  const results = [];
  const run = async (name, method, params) => {
    const outcome = await call(cos, method, {...at, ...params});
    results.push({case: name, ...outcome});
    return outcome;
  };
  const f = s.folder;
  await run('put-zip', 'putObject', {Key: f + '2.zip', Body: Buffer.from('PK')});
  await run('head-zip', 'headObject', {Key: f + '2.zip'});
  await run('put-headers', 'putObject', {Key: f + 'r.pdf', Body: Buffer.from('%PDF'),
    CacheControl: 'max-age=600', ContentDisposition: 'attachment', ContentEncoding: 'gzip',
    Expires: 'Wed, 21 Oct 2037 07:28:00 GMT', Headers: {'x-cos-meta-a': 'b'}});
  await run('get-headers', 'getObject', {Key: f + 'r.pdf'});
  await run('copy-own', 'putObjectCopy', {Key: f + 'copy.pdf', CopySource: source(f + 'r.pdf')});
  await run('head-copy', 'headObject', {Key: f + 'copy.pdf'});
  await run('copy-other', 'putObjectCopy', {Key: f + 'stolen', CopySource: source(s.other)});
  const init = await run('init', 'multipartInit', {Key: f + 'parts.bin'});
  const UploadId = init.data && init.data.UploadId;
  const part = await run('part-copy', 'uploadPartCopy', {Key: f + 'parts.bin', UploadId,
    PartNumber: 1, CopySource: source(f + 'r.pdf'), CopySourceRange: 'bytes=0-1'});
  await run('part-copy-other', 'uploadPartCopy', {Key: f + 'parts.bin', UploadId,
    PartNumber: 2, CopySource: source(s.other), CopySourceRange: 'bytes=0-1'});
  await run('complete', 'multipartComplete', {Key: f + 'parts.bin', UploadId,
    Parts: [{PartNumber: 1, ETag: part.data && part.data.ETag}]});
  await run('delete-many', 'deleteMultipleObject', {Objects: [{Key: f + '2.zip'}, {Key: s.other}]});
  // A resumable upload with a traffic limit: one part of the file is already up under an
  // upload id (an upload interrupted earlier); sliceUploadFile finds it and resumes.
  const limit = {'x-cos-traffic-limit': 819200};
  const started = await run('init-big', 'multipartInit', {Key: f + 'big.txt', Headers: limit});
  const head = fs.readFileSync(s.file).subarray(0, 1024 * 1024);
  await run('part-big', 'multipartUpload', {Key: f + 'big.txt', Body: head, PartNumber: 1,
    UploadId: started.data && started.data.UploadId, Headers: limit});
  results.push({case: 'resumed', ...(await call(cos, 'sliceUploadFile', {...at,
    Key: f + 'big.txt', FilePath: s.file, ChunkSize: 1024 * 1024, Headers: limit}))});
  await run('head-big', 'headObject', {Key: f + 'big.txt'});
  for (const line of results) console.log(JSON.stringify(line));
}

main();
