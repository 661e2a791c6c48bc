#!/usr/bin/env node
// Runs serverless.yml's inputs through Tencent's real deploy code
// (tencent-component-toolkit, pinned in package.json) with the cloud answered
// in-process. Nothing leaves the machine: every cloud call of the toolkit goes
// through one function, Capi.prototype.request of @tencent-sdk/capi, which is
// replaced here; sockets and DNS lookups are refused as a second guard.
//
// stdin: JSON {
//   instance: {org, app, stage, name},   // what the CLI sends with the inputs
//   inputs: {...},                       // serverless.yml inputs, ${env:X} already
//                                        // resolved as the CLI does (tests/test_deploy_code.py)
//   deploys: 2,                          // deploy, then redeploy with the saved state
//   refuse: {"apigateway:CreateService": {Code, Message}}  // scripted refusals
// }
// stdout: JSON { versions, region, regionDefaulted, deploys: [{calls, error, outputs}],
//                unknownActions, network }
//
// The platform's part is played here, as the `scf` component does it
// (serverless-components/tencent-scf src/serverless.js + src/utils.js formatInputs):
// ${name}/${stage}/${app}/${org} substituted, the code uploaded to
// sls-cloudfunction-<region>-code (represented by a fixed object name), default
// names and descriptions, apigw state carried from one deploy to the next.
'use strict';

const fs = require('fs');
const net = require('net');
const dns = require('dns');
const path = require('path');

const network = [];
function refuseNetwork(what) {
  return function () {
    network.push(what);
    throw new Error(`network access refused by the deploy harness: ${what}`);
  };
}
net.Socket.prototype.connect = refuseNetwork('net.Socket.connect');
dns.lookup = refuseNetwork('dns.lookup');
dns.resolve = refuseNetwork('dns.resolve');

const toolkitDir = path.dirname(require.resolve('tencent-component-toolkit/package.json'));
// The one copy of capi the toolkit loads (resolved from the toolkit's own path).
const capiPath = require.resolve('@tencent-sdk/capi', { paths: [toolkitDir] });
const capi = require(capiPath);
const { Scf } = require('tencent-component-toolkit');

const COMPONENT_DEFAULT_REGION = 'ap-guangzhou'; // tencent-scf src/config.js `region`
const APPID = '1250000000';
const CODE_OBJECT = '/scf_component_harness-1700000000.zip';

// ---------------------------------------------------------------- fake cloud

class Cloud {
  constructor(refuse) {
    this.refuse = refuse || {};
    this.functions = {}; // name -> function record
    this.triggers = {}; // function name -> [trigger]
    this.services = {}; // serviceId -> {ServiceName, ..., apis: {apiId: api}}
    this.seq = 0;
    this.unknown = [];
  }

  id(prefix) {
    this.seq += 1;
    return `${prefix}-${String(this.seq).padStart(8, '0')}`;
  }

  answer(service, action, p) {
    const refusal = this.refuse[`${service}:${action}`];
    if (refusal) {
      return { Error: { Code: refusal.Code, Message: refusal.Message } };
    }
    const handler = this[`${service}_${action}`];
    if (!handler) {
      this.unknown.push(`${service}:${action}`);
      return {};
    }
    return handler.call(this, p);
  }

  // -- scf 2018-04-16
  fn(p) {
    return this.functions[p.FunctionName];
  }

  notFound() {
    return {
      Error: { Code: 'ResourceNotFound.Function', Message: 'function not found' },
    };
  }

  scf_GetFunction(p) {
    const f = this.fn(p);
    if (!f) return this.notFound();
    return Object.assign({}, f, { Status: 'Active', Triggers: this.triggers[f.FunctionName] });
  }

  scf_CreateFunction(p) {
    const env = unflatten(p, 'Environment.Variables');
    this.functions[p.FunctionName] = {
      FunctionName: p.FunctionName,
      Namespace: p.Namespace,
      Runtime: p.Runtime,
      Handler: p.Handler,
      MemorySize: Number(p.MemorySize),
      Timeout: Number(p.Timeout),
      Description: p.Description,
      Role: p.Role,
      Type: p.Type === 'HTTP' ? 'HTTP' : 'Event',
      Qualifier: '$LATEST',
      Environment: { Variables: env },
      Tags: [],
    };
    this.triggers[p.FunctionName] = [];
    return {};
  }

  scf_UpdateFunctionCode(p) {
    return this.fn(p) ? {} : this.notFound();
  }

  scf_UpdateFunctionConfiguration(p) {
    const f = this.fn(p);
    if (!f) return this.notFound();
    f.Environment = { Variables: unflatten(p, 'Environment.Variables') };
    return {};
  }

  scf_GetAlias() {
    return {
      Name: '$DEFAULT',
      FunctionVersion: '$LATEST',
      RoutingConfig: { AdditionalVersionWeights: [] },
    };
  }

  scf_ListTriggers(p) {
    let list = this.triggers[p.FunctionName] || [];
    const filters = unflattenList(p, 'Filters');
    for (const filter of filters) {
      const values = unflattenList(filter, 'Values');
      if (filter.Name === 'Type') list = list.filter((t) => values.includes(t.Type));
      if (filter.Name === 'Qualifier') list = list.filter((t) => values.includes(t.Qualifier));
    }
    return { Triggers: list, TotalCount: list.length };
  }

  scf_CreateTrigger(p) {
    const trigger = {
      Type: p.Type,
      TriggerName: p.TriggerName,
      Qualifier: p.Qualifier,
      TriggerDesc: p.TriggerDesc,
      Enable: p.Enable === 'OPEN' ? 1 : 0,
      AvailableStatus: 'Available',
      ResourceId: `${APPID}/${p.Namespace}/${p.FunctionName}/${p.Qualifier}/${p.Type}/${p.TriggerName}`,
    };
    this.triggers[p.FunctionName].push(trigger);
    return { TriggerInfo: Object.assign({}, trigger) };
  }

  scf_UpdateTrigger(p) {
    const list = this.triggers[p.FunctionName] || [];
    const t = list.find((x) => x.TriggerName === p.TriggerName && x.Type === p.Type);
    if (!t) return { Error: { Code: 'ResourceNotFound.Trigger', Message: 'no trigger' } };
    t.TriggerDesc = p.TriggerDesc;
    return {};
  }

  scf_DeleteTrigger(p) {
    const list = this.triggers[p.FunctionName] || [];
    this.triggers[p.FunctionName] = list.filter((t) => t.TriggerName !== p.TriggerName);
    return {};
  }

  // -- apigateway 2018-08-08
  service(p) {
    return this.services[p.ServiceId];
  }

  describeService(s) {
    return {
      ServiceId: s.ServiceId,
      ServiceName: s.ServiceName,
      ServiceDesc: s.ServiceDesc,
      Protocol: s.Protocol,
      NetTypes: s.NetTypes,
      OuterSubDomain: `${s.ServiceId}-${APPID}.gz.apigw.tencentcs.com`,
      InnerSubDomain: '',
      InternalSubDomain: '',
      AvailableEnvironments: ['release'],
    };
  }

  apigateway_CreateService(p) {
    const ServiceId = this.id('service');
    this.services[ServiceId] = {
      ServiceId,
      ServiceName: p.ServiceName,
      ServiceDesc: p.ServiceDesc,
      Protocol: p.Protocol,
      NetTypes: unflattenList(p, 'NetTypes'),
      apis: {},
    };
    return this.describeService(this.services[ServiceId]);
  }

  apigateway_DescribeService(p) {
    const s = this.service(p);
    if (!s) return { Error: { Code: 'ResourceNotFound.InvalidService', Message: 'no service' } };
    return this.describeService(s);
  }

  apigateway_ModifyService(p) {
    const s = this.service(p);
    if (!s) return { Error: { Code: 'ResourceNotFound.InvalidService', Message: 'no service' } };
    s.ServiceDesc = p.ServiceDesc;
    s.Protocol = p.Protocol || s.Protocol;
    return {};
  }

  apigateway_DescribeApisStatus(p) {
    const s = this.service(p);
    const set = s
      ? Object.values(s.apis).map((a) => ({
          ApiId: a.ApiId,
          ApiName: a.ApiName,
          Path: a.Path,
          Method: a.Method,
        }))
      : [];
    return { Result: { ApiIdStatusSet: set, TotalCount: set.length } };
  }

  apigateway_CreateApi(p) {
    const s = this.service(p);
    if (!s) return { Error: { Code: 'ResourceNotFound.InvalidService', Message: 'no service' } };
    const ApiId = this.id('api');
    const api = {
      ApiId,
      ApiName: p.ApiName,
      Path: p['RequestConfig.Path'],
      Method: p['RequestConfig.Method'],
      Raw: p,
    };
    s.apis[ApiId] = api;
    // The gateway registers an apigw trigger on the function: without it in
    // ListTriggers, a redeploy would delete and recreate it.
    const fnName = p.ServiceScfFunctionName;
    if (fnName && this.triggers[fnName]) {
      this.triggers[fnName].push({
        Type: 'apigw',
        TriggerName: `apigw-${ApiId}`,
        Qualifier: p.ServiceScfFunctionQualifier || '$DEFAULT',
        TriggerDesc: JSON.stringify({
          api: { requestConfig: { path: api.Path, method: api.Method } },
          service: { serviceId: s.ServiceId },
        }),
        Enable: 1,
        AvailableStatus: 'Available',
        ResourceId: `${APPID}/service/${s.ServiceId}/API/${ApiId}`,
      });
    }
    return { Result: { ApiId, Path: api.Path, Method: api.Method } };
  }

  apigateway_ModifyApi(p) {
    const s = this.service(p);
    const api = s && s.apis[p.ApiId];
    if (!api) return { Error: { Code: 'ResourceNotFound.InvalidApi', Message: 'no api' } };
    api.Raw = p;
    return {};
  }

  apigateway_DescribeApi(p) {
    const s = this.service(p);
    const api = s && s.apis[p.ApiId];
    if (!api) return { Error: { Code: 'ResourceNotFound.InvalidApi', Message: 'no api' } };
    return {
      Result: {
        ServiceId: s.ServiceId,
        ApiId: api.ApiId,
        ApiName: api.ApiName,
        Path: api.Path,
        Method: api.Method,
        InternalDomain: '',
      },
    };
  }

  apigateway_ReleaseService(p) {
    return { Result: { ReleaseDesc: p.ReleaseDesc, ReleaseVersion: '20231114000000' } };
  }

  apigateway_DescribeServiceSubDomains() {
    return { Result: { TotalCount: 0, DomainSet: [] } };
  }

  apigateway_DescribeApiUsagePlan() {
    return { Result: { TotalCount: 0, ApiUsagePlanList: [] } };
  }

  apigateway_DescribeServiceUsagePlan() {
    return { Result: { TotalCount: 0, ServiceUsagePlanList: [] } };
  }

  apigateway_DescribeApiBindApiAppsStatus() {
    return { Result: { TotalCount: 0, ApiAppApiSet: [] } };
  }

  // -- tag 2018-08-13
  tag_DescribeResourceTagsByResourceIds() {
    return { Tags: [], TotalCount: 0 };
  }
}

// Flattened V1 parameters back to structure (only what the cloud needs to keep).
function unflattenList(p, prefix) {
  const out = [];
  for (const [key, value] of Object.entries(p)) {
    if (!key.startsWith(prefix + '.')) continue;
    const rest = key.slice(prefix.length + 1).split('.');
    const index = Number(rest[0]);
    if (rest.length === 1) {
      out[index] = value;
    } else {
      out[index] = out[index] || {};
      out[index][rest.slice(1).join('.')] = value;
    }
  }
  return out.filter((x) => x !== undefined);
}

function unflatten(p, prefix) {
  const variables = {};
  for (const item of unflattenList(p, prefix)) variables[item.Key] = item.Value;
  return variables;
}

// ------------------------------------------------------------ choke point

const VOLATILE = new Set(['Nonce', 'Timestamp', 'Signature', 'SecretId', 'Token', 'RequestClient']);

function wireValue(value) {
  if (value === null) return '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

function install(cloud, calls) {
  capi.Capi.prototype.request = async function request(data, opts) {
    // What the real method does before sending: merge the per-call options
    // (host, path) into the instance's, sign V1 (which flattens the parameters).
    const options = Object.assign(this.options, opts || {});
    options.RequestClient = options.RequestClient || data.RequestClient || 'TENCENT_SDK_CAPI';
    const host = options.host;
    const service = host.split('.')[0];
    if (!host.endsWith('.tencentcloudapi.com') || (opts && opts.isV3)) {
      throw new Error(`unexpected request shape: host ${host}, isV3 ${opts && opts.isV3}`);
    }
    const signed = capi.tencentSignV1(JSON.parse(JSON.stringify(data)), options);
    const params = {};
    for (const [key, value] of Object.entries(signed.payload)) {
      if (value === undefined || VOLATILE.has(key)) continue;
      params[key] = wireValue(value);
    }
    const action = params.Action;
    const response = cloud.answer(service, action, params);
    calls.push({ service, host, action, region: params.Region, params, error: response.Error || null });
    return { Response: Object.assign({ RequestId: `req-${calls.length}` }, response) };
  };
}

// ---------------------------------------------------------- the platform

function substitute(value, instance) {
  if (typeof value === 'string') {
    return value.replace(/\$\{(name|stage|app|org)\}/g, (_, key) => instance[key]);
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, instance));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, instance);
    return out;
  }
  return value;
}

// tencent-scf src/utils.js formatInputs, for code from `src` and event triggers.
function componentInputs(raw, instance, state, region) {
  const inputs = JSON.parse(JSON.stringify(raw));
  inputs.runtime = inputs.runtime || 'Nodejs10.15';
  inputs.handler = inputs.handler || 'index.main_handler';
  inputs.code = { bucket: `sls-cloudfunction-${region}-code`, object: CODE_OBJECT };
  delete inputs.src;
  inputs.name =
    inputs.name ||
    (state.function && state.function.FunctionName) ||
    `${instance.name}-${instance.stage}-${instance.app}`;
  inputs.description = inputs.description || `This is a function in ${instance.app} application`;
  inputs.events = (inputs.events || []).map((event) => {
    const type = Object.keys(event)[0];
    const current = event[type];
    if (type === 'apigw') {
      const serviceName = current.parameters.serviceName || current.name || 'serverless';
      let { serviceId } = current.parameters;
      current.parameters.isInputServiceId = !!serviceId;
      current.parameters.serviceName = serviceName;
      current.parameters.description =
        current.parameters.description ||
        `The service of serverless scf: ${instance.name}-${instance.stage}-${instance.app}`;
      current.name = current.name || `${type}-${instance.name}-${instance.stage}`;
      const old = state.apigw && (state.apigw[serviceName] || state.apigw[serviceId]);
      if (old) {
        current.parameters.oldState = old;
        serviceId = serviceId || old.serviceId;
        current.parameters.created = old.created;
      }
      current.parameters.serviceId = serviceId;
    } else {
      current.name = current.name || `${type}-${instance.name}-${instance.stage}`;
    }
    return event;
  });
  inputs.lastVersion = state.lastVersion;
  return inputs;
}

async function deployOnce(cloud, request, state) {
  const instance = request.instance;
  const resolved = substitute(request.inputs, instance);
  const regionDefaulted = !resolved.region;
  const region = resolved.region || COMPONENT_DEFAULT_REGION;
  const inputs = componentInputs(resolved, instance, state, region);
  const calls = [];
  install(cloud, calls);
  const credentials = { SecretId: 'AKIDHARNESS0000000000', SecretKey: 'harness-key', Token: 'harness-token' };
  const scf = new Scf(credentials, region);
  const result = { region, regionDefaulted, calls, error: null, outputs: null };
  try {
    const out = await scf.deploy(inputs);
    const stateApigw = {};
    for (const item of out.Triggers || []) {
      if (item && item.serviceId) {
        stateApigw[item.serviceName] = item;
        stateApigw[item.serviceId] = item;
      }
    }
    state.apigw = stateApigw;
    state.function = out;
    state.lastVersion = out.LastVersion || state.lastVersion || '$LATEST';
    result.outputs = {
      functionName: out.FunctionName,
      triggers: (out.Triggers || []).map((t) =>
        t && t.serviceId
          ? { type: 'apigw', serviceId: t.serviceId, subDomain: t.subDomain, apis: t.apiList }
          : t,
      ),
    };
  } catch (error) {
    result.error = { code: error.code || null, type: error.type || null, message: error.message };
  }
  return result;
}

async function main() {
  const request = JSON.parse(fs.readFileSync(0, 'utf8'));
  const cloud = new Cloud(request.refuse);
  const state = {};
  const deploys = [];
  // The toolkit logs progress with console.log: keep stdout for the JSON answer.
  const log = [];
  const consoleLog = console.log;
  console.log = (...args) => log.push(args.map(String).join(' '));
  try {
    for (let i = 0; i < (request.deploys || 1); i += 1) {
      deploys.push(await deployOnce(cloud, request, state));
    }
  } finally {
    console.log = consoleLog;
  }
  const versions = {
    toolkit: require(path.join(toolkitDir, 'package.json')).version,
    capi: require(path.join(path.dirname(capiPath), '..', 'package.json')).version,
    node: process.version,
  };
  process.stdout.write(
    JSON.stringify({ versions, deploys, unknownActions: cloud.unknown, network, log }, null, 1),
  );
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
