// Keys and certificates made at lab start: the etcd CA and per-node certificates (openssl, EC P-256
// for speed), a second "old" CA for the stale node's leftover certificates, and the SSH keys.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runOk } from './proc';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, cn: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await runOk('openssl', [
    'req', '-x509', ...EC, '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.crt'),
    '-days', '3650', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** A leaf signed by caDir's CA; serverAuth+clientAuth as etcd needs for client, server and peer TLS. */
async function makeLeaf(caDir: string, out: string, cn: string, ips: string[]): Promise<void> {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const san = ['DNS:localhost', ...ips.map((ip) => `IP:${ip}`)].join(',');
  await runOk('openssl', [
    'req', ...EC, '-keyout', `${out}.key`, '-out', `${out}.crt`, '-days', '3650', '-subj', `/CN=${cn}`,
    '-CA', path.join(caDir, 'ca.crt'), '-CAkey', path.join(caDir, 'ca.key'),
    '-addext', `subjectAltName=${san}`, '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
    '-addext', 'basicConstraints=CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
  ]);
  fs.chmodSync(`${out}.key`, 0o600);
}

export interface PkiNode {
  node: string;
  address: string;
}

/** pki/{ca,client}.*, pki/<node>/{server-client,peer-server-client}.*, pki/old/... for the stale node. */
export async function makeEtcdPki(labDir: string, nodes: PkiNode[], staleNode: PkiNode): Promise<void> {
  const pki = path.join(labDir, 'pki');
  const old = path.join(pki, 'old');
  const stamp = Math.floor(Date.now() / 1000);
  await Promise.all([makeCa(pki, `etcd-server-ca@${stamp}`), makeCa(old, `etcd-server-ca@${stamp - 86400 * 400}`)]);
  const jobs: Promise<void>[] = [makeLeaf(pki, path.join(pki, 'client'), 'etcd-client', [])];
  for (const n of nodes) {
    jobs.push(makeLeaf(pki, path.join(pki, n.node, 'server-client'), 'etcd-server', [n.address, '127.0.0.1']));
    jobs.push(makeLeaf(pki, path.join(pki, n.node, 'peer-server-client'), 'etcd-peer', [n.address, '127.0.0.1']));
  }
  jobs.push(makeLeaf(old, path.join(old, 'client'), 'etcd-client', []));
  jobs.push(makeLeaf(old, path.join(old, staleNode.node, 'server-client'), 'etcd-server', [staleNode.address, '127.0.0.1']));
  jobs.push(makeLeaf(old, path.join(old, staleNode.node, 'peer-server-client'), 'etcd-peer', [staleNode.address, '127.0.0.1']));
  await Promise.all(jobs);
}

export async function sshKeygen(file: string, comment: string): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim();
}
