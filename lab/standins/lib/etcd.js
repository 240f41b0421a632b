'use strict';
// The k3s stand-in's own etcd client: the real /usr/bin/etcdctl (not the audited wrapper: these
// calls are K3s internals, not operator commands), with the VM's K3s client certificate.
const { spawnSync } = require('node:child_process');

const TLS = '/var/lib/rancher/k3s/server/tls/etcd';

function etcdctl(endpoint, args, { tlsDir = TLS, timeoutS = 5 } = {}) {
  const r = spawnSync(
    '/usr/bin/etcdctl',
    [
      `--cacert=${tlsDir}/server-ca.crt`,
      `--cert=${tlsDir}/client.crt`,
      `--key=${tlsDir}/client.key`,
      `--endpoints=${endpoint}`,
      '--dial-timeout=2s',
      `--command-timeout=${timeoutS}s`,
      ...args,
    ],
    { encoding: 'utf8', env: { PATH: process.env.PATH, ETCDCTL_API: '3' }, timeout: (timeoutS + 3) * 1000 },
  );
  return { status: r.status, stdout: r.stdout || '', stderr: r.stderr || '' };
}

/** etcdctl -w json prints uint64 IDs as numbers; quote them before JSON.parse (etcd-io/etcd etcdctl/ctlv3/command/printer_json.go; lab/FACTS.md §2). */
function parseJson(text) {
  return JSON.parse(text.replace(/"(ID|member_id|cluster_id|leader)":(\d+)/g, '"$1":"$2"'));
}

const hex = (dec) => BigInt(dec).toString(16);

function memberList(endpoint, opts) {
  const r = etcdctl(endpoint, ['member', 'list', '-w', 'json'], opts);
  if (r.status !== 0) throw new Error(r.stderr.trim() || `etcdctl exited ${r.status}`);
  const j = parseJson(r.stdout);
  return {
    clusterId: hex(j.header.cluster_id),
    members: (j.members || []).map((m) => ({
      id: hex(m.ID),
      name: m.name || '',
      peerURLs: m.peerURLs || [],
      clientURLs: m.clientURLs || [],
      isLearner: Boolean(m.isLearner),
    })),
  };
}

module.exports = { TLS, etcdctl, parseJson, hex, memberList };
