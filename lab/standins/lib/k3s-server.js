'use strict';
// `k3s server`: the body of a VM's k3s service. Runs the node's real etcd member at the K3s paths,
// the way K3s decides (pkg/etcd/etcd.go): leftover db/etcd/member/wal -> restart the old member;
// else --server/K3S_URL -> validate token, take bootstrap certs, member add --learner, start with
// "existing", promote; else --cluster-init -> new cluster. Notifies readiness, then registers the
// Kubernetes node. Logs like K3s (logrus text) and etcd (zap JSON) on stderr -> the journal.
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const https = require('node:https');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const c = require('./common.js');
const E = require('./etcd.js');
const kube = require('./kube.js');
const U = require('./unit.js');

const DATA = '/var/lib/rancher/k3s';
const SERVER = `${DATA}/server`;
const TLS = `${SERVER}/tls/etcd`;
const DB = `${SERVER}/db/etcd`;

const ts = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const log = (level, msg) => process.stderr.write(`time="${ts()}" level=${level} msg=${JSON.stringify(msg)}\n`);
function fatal(msg) {
  log('fatal', msg);
  process.exit(1);
}

/**
 * /etc/rancher/k3s/config.yaml: K3s reads it before the flags (pkg/configfilearg, defaultParser), keys
 * are the flag names without dashes. The lab reads top-level `key: value` and `key:\n  - item` only.
 */
function configFileArgs(file = '/etc/rancher/k3s/config.yaml') {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out = [];
  let listKey = null;
  for (const line of text.split('\n')) {
    const item = /^\s+-\s*(.+?)\s*$/.exec(line);
    if (item && listKey) {
      out.push(`--${listKey}=${item[1].replace(/^["']|["']$/g, '')}`);
      continue;
    }
    const kv = /^([A-Za-z0-9-]+):\s*(.*?)\s*$/.exec(line);
    if (!kv) continue;
    listKey = kv[2] === '' ? kv[1] : null;
    if (kv[2] !== '') out.push(`--${kv[1]}=${kv[2].replace(/^["']|["']$/g, '')}`);
  }
  return out;
}

function parseArgs(args) {
  const o = { disable: [], clusterInit: false, server: process.env.K3S_URL || '', token: process.env.K3S_TOKEN || '', nodeName: process.env.K3S_NODE_NAME || '', nodeIp: '' };
  args = [...configFileArgs(), ...args];
  for (let i = 0; i < args.length; i++) {
    const [k, inline] = args[i].split(/=(.*)/s);
    const val = () => (inline !== undefined ? inline : args[++i]);
    if (k === '--cluster-init') o.clusterInit = true;
    else if (k === '--server' || k === '-s') o.server = val();
    else if (k === '--token' || k === '-t') o.token = val();
    else if (k === '--disable') o.disable.push(val());
    else if (k === '--node-name') o.nodeName = val();
    else if (k === '--node-ip' || k === '-i') o.nodeIp = val();
    else if (k.startsWith('-') && inline === undefined && args[i + 1] && !args[i + 1].startsWith('-')) i++;
  }
  if (process.env.K3S_TOKEN_FILE && !o.token) o.token = fs.readFileSync(process.env.K3S_TOKEN_FILE, 'utf8').trim();
  return o;
}

/** Token check as K3s does it: the CA hash of a secure token and the server password. */
function validateToken(token, l, serverAddr) {
  const [hash, pw] = l.token.replace(/^K10/, '').split('::server:');
  let theirHash = null;
  let theirPw = token;
  const m = /^K10([0-9a-f]+)::([^:]+):(.+)$/.exec(token);
  if (m) [, theirHash, , theirPw] = m;
  else if (token.startsWith('K10')) fatal('Error: preparing server: failed to normalize server token; must be in format K10<CA-HASH>::<USERNAME>:<PASSWORD> or <PASSWORD>');
  if (theirHash && theirHash !== hash)
    fatal(`Error: preparing server: failed to validate token: token CA hash does not match the Cluster CA certificate hash: ${hash} != ${theirHash}`);
  if (theirPw !== pw)
    fatal(`Error: preparing server: failed to validate token: failed to get server bootstrap data: https://${serverAddr}:6443/v1-k3s/server-bootstrap: 401 Unauthorized`);
}

/** Bootstrap data a joining server receives: the etcd CA and this node's certificates. */
function takeBootstrapCerts(vm) {
  const pki = path.join(c.LAB_DIR, 'pki');
  fs.mkdirSync(TLS, { recursive: true });
  const copy = (from, to, mode) => {
    fs.copyFileSync(path.join(pki, from), path.join(TLS, to));
    fs.chmodSync(path.join(TLS, to), mode);
  };
  copy('ca.crt', 'server-ca.crt', 0o644);
  copy('ca.crt', 'peer-ca.crt', 0o644);
  copy('client.crt', 'client.crt', 0o644);
  copy('client.key', 'client.key', 0o600);
  for (const f of ['server-client', 'peer-server-client']) {
    copy(`${vm.node}/${f}.crt`, `${f}.crt`, 0o644);
    copy(`${vm.node}/${f}.key`, `${f}.key`, 0o600);
  }
}

function writeToken(l) {
  fs.mkdirSync(SERVER, { recursive: true });
  fs.writeFileSync(`${SERVER}/token`, l.token + '\n', { mode: 0o600 });
  fs.rmSync(`${SERVER}/node-token`, { force: true });
  fs.symlinkSync(`${SERVER}/token`, `${SERVER}/node-token`);
  fs.mkdirSync('/etc/rancher/k3s', { recursive: true });
  if (!fs.existsSync('/etc/rancher/k3s/k3s.yaml')) {
    fs.writeFileSync(
      '/etc/rancher/k3s/k3s.yaml',
      `apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:6443\n  name: default\ncontexts:\n- context:\n    cluster: default\n    user: default\n  name: default\ncurrent-context: default\nkind: Config\npreferences: {}\nusers:\n- name: default\n  user: {}\n`,
      { mode: 0o600 },
    );
  }
}

/** Do the certificates on this VM belong to the cluster's CA? (A reinstalled VM's do not.) */
function certsMatchCluster() {
  try {
    const ca = new crypto.X509Certificate(fs.readFileSync(path.join(c.LAB_DIR, 'pki', 'ca.crt')));
    const cert = new crypto.X509Certificate(fs.readFileSync(`${TLS}/peer-server-client.crt`));
    return cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

function memberName(nodeName) {
  try {
    return fs.readFileSync(`${DB}/name`, 'utf8').trim();
  } catch {
    const name = `${nodeName}-${crypto.randomBytes(4).toString('hex')}`;
    fs.mkdirSync(DB, { recursive: true });
    fs.writeFileSync(`${DB}/name`, name);
    return name;
  }
}

let etcdChild = null;
let stopping = false;

function startEtcd(vm, name, extra) {
  const a = vm.address;
  const args = [
    `--name=${name}`,
    `--data-dir=${DB}`,
    `--listen-client-urls=https://${a}:2379`,
    `--advertise-client-urls=https://${a}:2379`,
    `--listen-peer-urls=https://${a}:2380`,
    `--initial-advertise-peer-urls=https://${a}:2380`,
    `--listen-metrics-urls=http://${a}:2381`,
    '--client-cert-auth',
    `--trusted-ca-file=${TLS}/server-ca.crt`,
    `--cert-file=${TLS}/server-client.crt`,
    `--key-file=${TLS}/server-client.key`,
    '--peer-client-cert-auth',
    `--peer-trusted-ca-file=${TLS}/peer-ca.crt`,
    `--peer-cert-file=${TLS}/peer-server-client.crt`,
    `--peer-key-file=${TLS}/peer-server-client.key`,
    '--logger=zap',
    '--log-outputs=stderr',
    ...extra,
  ];
  etcdChild = spawn('/usr/bin/etcd', args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    // LAB_* lets the lab find (and kill) this member with its VM.
    env: { PATH: process.env.PATH, LAB_DIR: c.LAB_DIR, LAB_HOST: c.LAB_HOST, LAB_VM: String(c.LAB_VM) },
  });
  fs.writeFileSync(path.join(c.vmDir(vm.host, vm.vmid), 'run', 'etcd.pid'), String(etcdChild.pid));
  etcdChild.on('exit', (code, sig) => {
    etcdChild = null;
    if (stopping) process.exit(0);
    fatal(`ETCD server exited: etcd exited with ${sig ? `signal ${sig}` : `code ${code}`}`);
  });
}

function healthy(vm) {
  return new Promise((resolve) => {
    const req = https.get(
      {
        host: vm.address,
        port: 2379,
        path: '/health',
        ca: fs.readFileSync(`${TLS}/server-ca.crt`),
        cert: fs.readFileSync(`${TLS}/client.crt`),
        key: fs.readFileSync(`${TLS}/client.key`),
        timeout: 2000,
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(/"health":\s*"true"/.test(body)));
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

async function waitHealthy(vm) {
  for (let i = 0; ; i++) {
    if (await healthy(vm)) return;
    if (i % 20 === 19) log('info', 'Waiting for etcd server to become available');
    await c.sleep(250);
  }
}

/** Errors K3s's join retries instead of failing (k3s pkg/etcd/etcd.go Start: wait.PollUntilContextCancel, 1 s). */
class RetryJoin extends Error {}

/**
 * One K3s join attempt (k3s pkg/etcd/etcd.go join): the member list through the join server, refuse a
 * duplicate node-name prefix, add ourselves as a learner, start "existing". A member list that cannot be
 * read (ErrMemberListFailed) and an add the cluster refuses for now (rpctypes.ErrUnhealthy,
 * ErrTooManyLearners) are retried by the caller; anything else is fatal.
 */
function joinOnce(vm, o, serverAddr, name) {
  const endpoint = `https://${serverAddr}:2379`;
  let list;
  try {
    list = E.memberList(endpoint);
  } catch (e) {
    throw new RetryJoin(`Waiting to retrieve etcd cluster member list: failed to get MemberList from server: ${e.message}`);
  }
  const peer = `https://${vm.address}:2380`;
  const cluster = [];
  let add = true;
  for (const m of list.members) {
    const mName = m.name || (m.peerURLs.some((u) => new URL(u).hostname === vm.address) ? name : '');
    if (mName === name && m.peerURLs.some((u) => new URL(u).hostname === vm.address)) add = false;
    if (m.peerURLs[0]) cluster.push(`${mName}=${m.peerURLs[0]}`);
    // K3s (pkg/etcd/etcd.go join): the node name is the member name cut at its last hyphen, if past index 1
    const prefix = mName.lastIndexOf('-') > 1 ? mName.slice(0, mName.lastIndexOf('-')) : mName;
    if (mName !== name && prefix === o.nodeName) {
      fs.rmSync(`${DB}/name`, { force: true });
      fatal('etcd cluster join failed: duplicate node name found, please use a unique name for this node');
    }
  }
  if (add) {
    log('info', `Adding member ${name}=${peer} to etcd cluster [${cluster.join(' ')}]`);
    const r = E.etcdctl(endpoint, ['member', 'add', name, `--peer-urls=${peer}`, '--learner']);
    if (r.status !== 0) {
      const err = r.stderr.trim();
      // etcd's ErrGRPCUnhealthy / ErrGRPCTooManyLearners (api/v3rpc/rpctypes/error.go)
      if (/etcdserver: (unhealthy cluster|too many learner members in cluster)/.test(err)) {
        throw new RetryJoin(`Waiting for other members to finish joining etcd cluster: ${err}`);
      }
      fatal(`etcd cluster join failed: ${err}`);
    }
    cluster.push(`${name}=${peer}`);
  }
  log('info', 'Starting etcd to join cluster with members [' + cluster.join(' ') + ']');
  startEtcd(vm, name, [`--initial-cluster=${cluster.join(',')}`, '--initial-cluster-state=existing', '--initial-cluster-token=etcd-cluster']);
  return endpoint;
}

/** K3s's join loop: an attempt a second, until it joins or fails with an error it does not retry. */
async function join(vm, o, serverAddr, name) {
  for (;;) {
    try {
      return joinOnce(vm, o, serverAddr, name);
    } catch (e) {
      if (!(e instanceof RetryJoin)) throw e;
      log('info', e.message);
      await c.sleep(1000);
    }
  }
}

/** K3s promotes its learner once it has caught up with the leader. */
async function promote(endpoint, name) {
  for (;;) {
    let me;
    try {
      me = E.memberList(endpoint).members.find((m) => m.name === name);
    } catch {
      me = undefined;
    }
    if (me && !me.isLearner) return;
    if (me) {
      const r = E.etcdctl(endpoint, ['member', 'promote', me.id]);
      if (r.status === 0) {
        log('info', `Promoted learner ${name}`);
        return;
      }
    }
    await c.sleep(500);
  }
}

/** A VM whose certificates the cluster no longer trusts: etcd never comes up, K3s keeps waiting. */
async function staleLoop(vm) {
  log('info', 'Managed etcd cluster bootstrap already complete and initialized');
  log('info', 'Starting etcd for existing cluster member');
  const peers = c.lab().vms.filter((v) => v.address !== vm.address);
  for (let n = 0; ; n++) {
    const p = peers[n % peers.length];
    const t = new Date().toISOString();
    process.stderr.write(
      JSON.stringify({ level: 'warn', ts: t, caller: 'embed/config_logging.go:170', msg: 'rejected connection on peer endpoint', 'remote-addr': `${p.address}:${40000 + ((n * 7919) % 20000)}`, 'server-name': '', error: 'remote error: tls: certificate required' }) + '\n',
    );
    process.stderr.write(
      JSON.stringify({ level: 'warn', ts: t, logger: 'etcd-client', caller: 'v3@v3.5.21-k3s1/retry_interceptor.go:63', msg: 'retrying of unary invoker failed', target: `etcd-endpoints://0xc000d3a1e0/${vm.address}:2379`, attempt: 0, error: 'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: remote error: tls: certificate required"' }) + '\n',
    );
    if (n % 3 === 2) log('info', 'Failed to test data store connection: context deadline exceeded');
    await c.sleep(5000);
  }
}

function bootId() {
  try {
    return fs.readFileSync(path.join(c.vmDir(c.LAB_HOST, c.LAB_VM), 'boot_id'), 'utf8').trim();
  } catch {
    return crypto.randomUUID();
  }
}

async function ready(vm) {
  kube.register(vm, { bootId: bootId() });
  log('info', 'k3s is up and running');
  if (process.env.LAB_NOTIFY) fs.writeFileSync(process.env.LAB_NOTIFY, 'READY=1\n');
  // The kubelet keeps its node object (re-creates it after a delete) while the service runs.
  setInterval(() => {
    kube.register(vm, { bootId: bootId() });
    kube.heartbeat(vm.node);
  }, 5000);
}

async function server(args) {
  const l = c.lab();
  const vm = c.currentVm();
  if (!vm) fatal('lab: k3s server must run inside a lab VM');
  const o = parseArgs(args);
  o.nodeName = o.nodeName || os.hostname();
  // etcd listens on the node IP (pkg/etcd/etcd.go peerURL/clientURL use --node-ip): an address this VM does not have cannot be bound
  if (o.nodeIp && o.nodeIp !== vm.address) {
    fatal(`ETCD server exited: listen tcp ${o.nodeIp}:2380: bind: cannot assign requested address`);
  }
  process.on('SIGTERM', () => {
    stopping = true;
    log('info', 'Received SIGTERM, shutting down');
    if (etcdChild) etcdChild.kill('SIGTERM');
    else process.exit(0);
  });
  log('info', `Starting k3s ${l.k3sVersion} (${l.k3sCommit})`);
  log('info', `Managed etcd cluster enabled`);

  if (fs.existsSync(`${DB}/member/wal`)) {
    if (!certsMatchCluster()) return staleLoop(vm);
    const name = memberName(o.nodeName);
    log('info', 'Managed etcd cluster bootstrap already complete and initialized');
    log('info', `Starting etcd for existing cluster member ${name}`);
    startEtcd(vm, name, []);
    await waitHealthy(vm);
    return ready(vm);
  }

  if (process.env.LAB_K3S_BOOTSTRAP) {
    // Lab start only: all members form the cluster at once (as if they had joined one by one).
    takeBootstrapCerts(vm);
    writeToken(l);
    startEtcd(vm, memberName(o.nodeName), [`--initial-cluster=${process.env.LAB_K3S_BOOTSTRAP}`, '--initial-cluster-state=new', '--initial-cluster-token=etcd-cluster']);
    await waitHealthy(vm);
    return ready(vm);
  }

  if (o.server) {
    let u;
    try {
      u = new URL(o.server);
    } catch {
      fatal(`Error: invalid server url ${o.server}`);
    }
    if (!o.token) fatal('Error: --token is required when --server is set');
    const target = l.vms.find((v) => v.address === u.hostname);
    const targetUp = target && U.state('k3s', c.vmDir(target.host, target.vmid)).state === 'active';
    if (!targetUp)
      fatal(`Error: preparing server: failed to get CA certs: Get "https://${u.host}/cacerts": dial tcp ${u.host}: connect: connection refused`);
    validateToken(o.token, l, u.hostname);
    takeBootstrapCerts(vm);
    writeToken(l);
    const name = memberName(o.nodeName);
    const endpoint = await join(vm, o, u.hostname, name);
    await promote(endpoint, name);
    await waitHealthy(vm);
    return ready(vm);
  }

  if (o.clusterInit) {
    takeBootstrapCerts(vm);
    writeToken(l);
    const name = memberName(o.nodeName);
    startEtcd(vm, name, [`--initial-cluster=${name}=https://${vm.address}:2380`, '--initial-cluster-state=new']);
    await waitHealthy(vm);
    return ready(vm);
  }
  fatal('lab: a server without --cluster-init or --server would start a separate SQLite cluster; the lab does not model that');
}

module.exports = { server };
