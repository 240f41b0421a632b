import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { loadInventory, parseInventory } from '../../src/inventory/load';

const example = join(__dirname, '../../inventory/example-homelab.yaml');

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApplicationFailure, String(e));
    assert.equal(e.type, 'InvalidInventory');
    assert.equal(e.nonRetryable, true);
    const lines = e.message.split('\n').slice(1).map((l) => l.trim());
    assert.deepEqual(e.details, lines);
    return lines;
  }
  assert.fail('expected InvalidInventory');
}

describe('inventory', () => {
  it('the example homelab validates, with defaults and ~ expanded', () => {
    const inv = loadInventory(example);
    // the four Proxmox hosts, and the Frigate node VM's own sshd the Phase 3 copy streams into
    assert.deepEqual(Object.keys(inv.hosts), ['pumped-piglet', 'still-fawn', 'fun-bedbug', 'pve', 'k3s-vm-still-fawn']);
    assert.equal(inv.frigate?.copy.nodeHost, 'k3s-vm-still-fawn');
    assert.equal(inv.hosts['k3s-vm-still-fawn']?.address, inv.k3s.nodes['k3s-vm-still-fawn']?.address);
    assert.equal(inv.hosts['still-fawn']?.port, 22);
    assert.equal(inv.ssh.knownHostsPath, join(homedir(), '.ssh/known_hosts'));
    assert.equal(inv.ssh.user, 'root');
    const fawn = inv.k3s.nodes['k3s-vm-still-fawn'];
    assert.equal(fawn?.vmid, 108);
    assert.equal(fawn?.gpuPassthrough, true);
    assert.equal(fawn?.etcdEndpoint, 'https://127.0.0.1:2379');
    assert.equal(inv.k3s.nodes['k3s-vm-pve']?.gpuPassthrough, false);
    assert.equal(inv.k3s.installScriptUrl, 'https://get.k3s.io');
    assert.equal(inv.k3s.etcd.caCert, '/var/lib/rancher/k3s/server/tls/etcd/server-ca.crt');
    assert.equal(inv.approvals.identity, 'signatures');
    assert.equal(inv.approvals.allowedSigners, '/etc/homelab-runbooks/allowed_signers');
  });

  it('relative key and known_hosts paths resolve against the file\'s directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inv-'));
    const file = join(dir, 'inv.yaml');
    writeFileSync(file, [
      'ssh: { privateKeyPath: keys/id_ed25519, knownHostsPath: ./known_hosts }',
      'hosts: { h1: { address: 127.0.0.1, port: 2222 } }',
      'k3s: { nodes: { n1: { host: h1, vmid: 105, address: 127.0.0.11 } } }',
      'approvers: [me]',
      'approvals: { identity: names }',
    ].join('\n'));
    const inv = loadInventory(file);
    assert.equal(inv.ssh.privateKeyPath, join(dir, 'keys/id_ed25519'));
    assert.equal(inv.ssh.knownHostsPath, join(dir, 'known_hosts'));
  });

  it('reports every problem at once, each with its dotted path', () => {
    const yaml = `
ssh:
  user: Root
  bogus: 1
hosts:
  Bad_Name: { address: 10.0.0.1 }
  h1: { address: 10.0.0.1, port: 70000, hostKeyFingerprints: ["MD5:aa"] }
k3s:
  installScriptUrl: not-a-url
  nodes:
    n1: { host: nowhere, vmid: 5, address: "10.0.0.x" }
    n2: { host: h1, vmid: 106, address: 10.0.0.2, gpu: true }
approvers: []
extra: 1
`;
    const problems = problemsOf(() => parseInventory(yaml, '/tmp', 'inv.yaml'));
    const paths = problems.map((p) => p.slice(0, p.indexOf(':')));
    for (const expected of [
      'ssh.user', 'ssh.bogus', 'hosts.Bad_Name', 'hosts.h1.port', 'hosts.h1.hostKeyFingerprints[0]',
      'k3s.installScriptUrl', 'k3s.nodes.n1.vmid', 'k3s.nodes.n1.address', 'k3s.nodes.n2.gpu', 'approvers', 'extra',
      // cross-field checks, reported in the same pass
      'k3s.nodes.n1.host', 'ssh.knownHostsPath',
    ]) {
      assert.ok(paths.includes(expected), `missing ${expected} in:\n${problems.join('\n')}`);
    }
    assert.ok(problems.includes('ssh.bogus: unknown key'));
    assert.ok(problems.some((p) => /^k3s\.nodes\.n1\.host: unknown host "nowhere"/.test(p)));
    assert.ok(problems.some((p) => /^hosts\.Bad_Name: invalid name: must be a lowercase DNS label/.test(p)));
  });

  it("frigate.copy.nodeHost must be one of hosts (the node VM's sshd the copy streams into)", () => {
    const text = readFileSync(example, 'utf8').replace('nodeHost: k3s-vm-still-fawn', 'nodeHost: no-such-vm');
    const problems = problemsOf(() => parseInventory(text, '/tmp'));
    assert.ok(problems.some((p) => /^frigate\.copy\.nodeHost: unknown host "no-such-vm": list the node VM's sshd under hosts/.test(p)), problems.join('\n'));
  });

  it('a missing section and YAML syntax errors are reported too', () => {
    assert.deepEqual(problemsOf(() => parseInventory('hosts: {}\napprovers: [me]\napprovals: {identity: names}\nssh: {knownHostsPath: /k}\n', '/tmp')), [
      'k3s: Invalid input: expected object, received undefined',
    ]);
    assert.match(problemsOf(() => parseInventory('hosts: [\n', '/tmp'))[0] ?? '', /^line \d+ column \d+: /);
    assert.match(problemsOf(() => parseInventory('', '/tmp'))[0] ?? '', /^\(root\): /);
    assert.match(problemsOf(() => parseInventory('a: 1\na: 2\n', '/tmp'))[0] ?? '', /unique/i);
  });

  it('signed approvals (the default) need an absolute allowed_signers path; names mode does not', () => {
    const base = 'hosts: {}\nk3s: { nodes: {} }\napprovers: [me]\nssh: {knownHostsPath: /k}\n';
    assert.deepEqual(problemsOf(() => parseInventory(base, '/tmp')), [
      "approvals.allowedSigners: signed approvals need the allowed_signers file of the approvers' keys (an absolute path on the worker's host), or set approvals.identity: names",
    ]);
    assert.deepEqual(problemsOf(() => parseInventory(`${base}approvals: { identity: signatures, allowedSigners: signers }\n`, '/tmp')), [
      'approvals.allowedSigners: must be an absolute path of safe characters',
    ]);
    assert.deepEqual(problemsOf(() => parseInventory(`${base}approvals: { identity: keys }\n`, '/tmp')).map((p) => p.split(':')[0]), ['approvals.identity']);
    const signed = parseInventory(`${base}approvals: { allowedSigners: /etc/hr/allowed_signers }\n`, '/tmp');
    assert.equal(signed.approvals.identity, 'signatures');
    assert.equal(signed.approvals.allowedSigners, '/etc/hr/allowed_signers');
    const names = parseInventory(`${base}approvals: { identity: names }\n`, '/tmp');
    assert.equal(names.approvals.identity, 'names');
    assert.equal(names.approvals.allowedSigners, undefined);
  });

  it('an unreadable file is InvalidInventory naming the path', () => {
    assert.throws(() => loadInventory('/nonexistent/inv.yaml'), (e: unknown) => e instanceof ApplicationFailure && e.type === 'InvalidInventory' && /\/nonexistent\/inv\.yaml/.test(e.message));
  });
});
