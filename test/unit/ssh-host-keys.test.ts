import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  checkHostKey, fingerprintOf, hexToOpenSshFingerprint, hostFieldMatches, hostKeyPolicy, keyTypeOf, knownHostName, parseKnownHosts,
} from '../../src/activities/exec/host-keys';

// A syntactically real ed25519 public key blob.
const ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const ED2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIBlnPUV+tEYMqWNJ4VmaJkmj1l2pG7RA6Yw26WNEJp5u';
const blob = Buffer.from(ED, 'base64');

describe('host keys', () => {
  it('fingerprints: OpenSSH form, and ssh2 hex converted to it', () => {
    const fp = fingerprintOf(blob);
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(hexToOpenSshFingerprint(createHash('sha256').update(blob).digest('hex')), fp);
    assert.equal(keyTypeOf(blob), 'ssh-ed25519');
  });

  it('parses known_hosts: ports, patterns, negation, markers, comments', () => {
    const text = [
      '# comment',
      '',
      `[127.0.0.1]:2222 ssh-ed25519 ${ED}`,
      `pve,192.168.4.122 ssh-ed25519 ${ED2} root@pve`,
      `*.lan,!evil.lan ssh-ed25519 ${ED}`,
      `@revoked * ssh-ed25519 ${ED2}`,
      '@cert-authority *.lan ssh-ed25519 AAAA',
      'garbage',
    ].join('\n');
    const entries = parseKnownHosts(text);
    assert.equal(entries.length, 5);
    assert.equal(knownHostName('127.0.0.1', 2222), '[127.0.0.1]:2222');
    assert.equal(knownHostName('PVE', 22), 'pve');
    assert.ok(hostFieldMatches(entries[0]!.hosts, '[127.0.0.1]:2222'));
    assert.ok(!hostFieldMatches(entries[0]!.hosts, '127.0.0.1'));
    assert.ok(hostFieldMatches(entries[1]!.hosts, '192.168.4.122'));
    assert.ok(hostFieldMatches(entries[2]!.hosts, 'nas.lan'));
    assert.ok(!hostFieldMatches(entries[2]!.hosts, 'evil.lan'));
  });

  it('policy: known_hosts under the address or the inventory name, plus pins; revoked keys are refused', () => {
    const entries = parseKnownHosts(`pve ssh-ed25519 ${ED}\n@revoked pve ssh-ed25519 ${ED2}\n`);
    const p = hostKeyPolicy({ host: 'pve', address: '192.168.4.122', port: 22, knownHosts: entries });
    assert.deepEqual(p.expected, [fingerprintOf(blob)]);
    assert.equal(p.algorithms[0], 'ssh-ed25519');
    assert.equal(checkHostKey(p, blob), null);
    const revoked = checkHostKey(p, Buffer.from(ED2, 'base64'));
    assert.equal(revoked?.type, 'HostKeyMismatch');
    assert.match(revoked?.message ?? '', /@revoked/);
    // rsa entries move rsa algorithms to the front
    const rsa = hostKeyPolicy({ host: 'h', address: 'a', port: 22, knownHosts: parseKnownHosts(`a ssh-rsa ${ED}\n`) });
    assert.deepEqual(rsa.algorithms.slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  });
});
