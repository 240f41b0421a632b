import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import {
  decimalIdToHex, isMemberNotFound, parseEndpointHealthJson, parseEtcdJson, parseMemberListJson,
  parseMemberListSimple, parseMemberRemove, quorum, quorumAfterRemoval,
} from '../../src/activities/parse/etcdctl';
import type { EtcdMember } from '../../src/activities/parse/etcdctl';
import { membersOf, nodeOfMemberName } from '../../src/activities/etcd';
import type { NodeRef } from '../../src/activities/deps';

const unexpected = (e: unknown) => e instanceof ApplicationFailure && e.type === 'UnexpectedOutput';

describe('etcdctl member list', () => {
  it('simple output, including an unstarted member', () => {
    const text =
      'c5653497ac95e38c, started, n1, https://127.0.0.1:12380, https://127.0.0.1:12379, false\n' +
      '85fc667929024b51, unstarted, , https://127.0.0.1:42380, , false\n' +
      '1f57491286ac4c3, started, k3s-vm-pve-0a1b2c3d, https://10.0.0.1:2380,https://10.0.0.9:2380, https://10.0.0.1:2379, true\n';
    assert.deepEqual(parseMemberListSimple(text), [
      { id: 'c5653497ac95e38c', name: 'n1', peerURLs: ['https://127.0.0.1:12380'], clientURLs: ['https://127.0.0.1:12379'], isLearner: false, started: true },
      { id: '85fc667929024b51', name: '', peerURLs: ['https://127.0.0.1:42380'], clientURLs: [], isLearner: false, started: false },
      { id: '1f57491286ac4c3', name: 'k3s-vm-pve-0a1b2c3d', peerURLs: ['https://10.0.0.1:2380', 'https://10.0.0.9:2380'], clientURLs: ['https://10.0.0.1:2379'], isLearner: true, started: true },
    ]);
    assert.throws(() => parseMemberListSimple('Error: context deadline exceeded'), unexpected);
  });

  it('json with 64-bit decimal IDs keeps every bit (141147130129204419 → 1f57491286ac4c3)', () => {
    // JSON.parse alone would read …420 and give 1f57491286ac4c0.
    assert.equal(Number('141147130129204419').toString(16), '1f57491286ac4c0');
    const text =
      '{"header":{"cluster_id":14249602555126120732,"member_id":141147130129204419,"raft_term":2},' +
      '"members":[{"ID":141147130129204419,"name":"n2","peerURLs":["https://127.0.0.1:22380"],"clientURLs":["https://127.0.0.1:22379"]},' +
      '{"ID":9654704371740592977,"peerURLs":["https://127.0.0.1:42380"],"isLearner":true}]}';
    assert.deepEqual(parseMemberListJson(text), [
      { id: '1f57491286ac4c3', name: 'n2', peerURLs: ['https://127.0.0.1:22380'], clientURLs: ['https://127.0.0.1:22379'], isLearner: false, started: true },
      { id: '85fc667929024b51', name: '', peerURLs: ['https://127.0.0.1:42380'], clientURLs: [], isLearner: true, started: false },
    ]);
    const header = (parseEtcdJson(text) as { header: { cluster_id: string } }).header;
    assert.equal(header.cluster_id, 'c5c0c206b8ca811c');
  });

  it('json from 3.5 --hex (hex strings, clientURLS typo)', () => {
    const text = '{"header":{},"members":[{"ID":"1f57491286ac4c3","name":"n2","peerURLs":["https://a:2380"],"clientURLS":["https://a:2379"]}]}';
    assert.deepEqual(parseMemberListJson(text)[0]?.clientURLs, ['https://a:2379']);
    assert.equal(parseMemberListJson(text)[0]?.id, '1f57491286ac4c3');
  });

  it('decimalIdToHex: max uint64 and no padding', () => {
    assert.equal(decimalIdToHex('18446744073709551615'), 'ffffffffffffffff');
    assert.equal(decimalIdToHex('255'), 'ff');
  });

  it('refuses output that is not a member list', () => {
    assert.throws(() => parseMemberListJson('Error: etcdserver: request timed out'), unexpected);
    assert.throws(() => parseMemberListJson('{"header":{}}'), unexpected);
  });
});

describe('etcdctl member remove and endpoint health', () => {
  it('remove: %16x pads the ID with spaces', () => {
    assert.deepEqual(parseMemberRemove('Member  1f57491286ac4c3 removed from cluster c5c0c206b8ca811c\n'), {
      id: '1f57491286ac4c3', clusterId: 'c5c0c206b8ca811c',
    });
    assert.deepEqual(parseMemberRemove('Member c5653497ac95e38c removed from cluster c5c0c206b8ca811c\n').id, 'c5653497ac95e38c');
    assert.throws(() => parseMemberRemove('Error: etcdserver: member not found'), unexpected);
    assert.equal(isMemberNotFound('Error: etcdserver: member not found\n'), true);
  });

  it('health json: healthy and unhealthy endpoints', () => {
    const text =
      '[{"endpoint":"https://127.0.0.1:22379","health":true,"took":"7.3ms"},' +
      '{"endpoint":"https://127.0.0.1:42379","health":false,"took":"3.0006s","error":"context deadline exceeded"}]\n';
    assert.deepEqual(parseEndpointHealthJson(text), [
      { endpoint: 'https://127.0.0.1:22379', health: true, took: '7.3ms' },
      { endpoint: 'https://127.0.0.1:42379', health: false, took: '3.0006s', error: 'context deadline exceeded' },
    ]);
    assert.throws(() => parseEndpointHealthJson('https://x is healthy: ...'), unexpected);
  });
});

describe('quorum', () => {
  it('floor(n/2)+1 and what it tolerates', () => {
    assert.deepEqual(quorum(4, 3), { members: 4, healthy: 3, quorum: 3, tolerates: 0, hasQuorum: true });
    assert.deepEqual(quorum(3), { members: 3, healthy: 3, quorum: 2, tolerates: 1, hasQuorum: true });
    assert.deepEqual(quorum(4, 2), { members: 4, healthy: 2, quorum: 3, tolerates: 0, hasQuorum: false });
  });
  it('removing the dead member of 4 raises tolerance from 0 to 1', () => {
    const { before, after } = quorumAfterRemoval(4, 3, false);
    assert.deepEqual([before.quorum, before.tolerates, after.members, after.quorum, after.tolerates], [3, 0, 3, 2, 1]);
    assert.equal(quorumAfterRemoval(3, 3, true).after.healthy, 2);
  });
});

describe('membersOf: K3s maps a member name to its node at the LAST hyphen (k3s pkg/etcd/etcd.go join)', () => {
  const m = (id: string, name: string, addr: string): EtcdMember => ({
    id, name, peerURLs: [`https://${addr}:2380`], clientURLs: name ? [`https://${addr}:2379`] : [], isLearner: false, started: name !== '',
  });
  const ref = (name: string, address: string): NodeRef => ({
    name, target: { kind: 'vm', host: 'pve', vmid: 107 },
    node: { host: 'pve', vmid: 107, address, etcdEndpoint: `https://${address}:2379`, gpuPassthrough: false },
  });
  const members = [m('a1', 'k3s-vm-pve-2-1a2b3c4d', '10.0.0.15'), m('b2', 'k3s-vm-pve-0f0e0d0c', '10.0.0.14'), m('c3', 'k3s-vm-pumped-piglet-99aa88bb', '10.0.0.11')];

  it("k3s-vm-pve-2's member is never k3s-vm-pve's", () => {
    assert.equal(nodeOfMemberName('k3s-vm-pve-2-1a2b3c4d'), 'k3s-vm-pve-2');
    assert.equal(nodeOfMemberName('k3s-vm-pve-0f0e0d0c'), 'k3s-vm-pve');
    assert.deepEqual(membersOf(members, ref('k3s-vm-pve', '10.0.0.14')).map((x) => x.id), ['b2']);
    assert.deepEqual(membersOf(members, ref('k3s-vm-pve-2', '10.0.0.15')).map((x) => x.id), ['a1']);
    // k3s-vm-pve's own member gone: nothing of k3s-vm-pve-2's is taken instead
    assert.deepEqual(membersOf(members.filter((x) => x.id !== 'b2'), ref('k3s-vm-pve', '10.0.0.14')), []);
  });

  it('an unstarted member (no name yet) is found by its peer URL', () => {
    assert.deepEqual(membersOf([m('d4', '', '10.0.0.14'), ...members], ref('k3s-vm-pve', '10.0.0.14')).map((x) => x.id), ['d4', 'b2']);
  });
});
