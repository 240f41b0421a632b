// Issue 10 item 9: a joining server gets the healthy server's cluster-wide flags, never its node-specific
// ones (k3s pkg/cli/cmds/agent.go, server.go), nor how that server joined.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { splitJoinFlags } from '../../src/activities/parse/k3s';

describe('splitJoinFlags', () => {
  it('leaves out --node-name, --node-ip/-i and the other node-specific flags, in both spellings', () => {
    const args = [
      'server', '--server', 'https://10.0.0.1:6443', '--disable', 'servicelb', '--node-name', 'k3s-vm-pumped-piglet',
      '--node-ip=127.1.2.11', '-i', '127.1.2.11', '--node-external-ip', '1.2.3.4', '--with-node-id', '--flannel-iface=ens18',
      '--advertise-address', '127.1.2.11', '--bind-address=127.1.2.11', '--node-label', 'gpu=rx580', '--node-taint=x=y:NoSchedule',
      '--config', '/etc/rancher/k3s/other.yaml', '--vpn-auth=name=tailscale,joinKey=SECRET', '--tls-san', 'k3s.lan',
      '--kube-apiserver-arg=audit-log-maxage=7', '--etcd-expose-metrics',
    ];
    const { keep, nodeSpecific } = splitJoinFlags(args);
    assert.deepEqual(keep, ['--disable', 'servicelb', '--tls-san', 'k3s.lan', '--kube-apiserver-arg=audit-log-maxage=7', '--etcd-expose-metrics']);
    assert.deepEqual(nodeSpecific, [
      '--node-name', '--node-ip', '-i', '--node-external-ip', '--with-node-id', '--flannel-iface', '--advertise-address',
      '--bind-address', '--node-label', '--node-taint', '--config', '--vpn-auth',
    ]);
    assert.ok(!JSON.stringify(nodeSpecific).includes('SECRET'), 'values are never reported');
    // the node's own flags with their values, to reinstall it as it was; never the VPN key
    const own = splitJoinFlags(args).nodeArgs;
    assert.deepEqual(own.slice(0, 4), ['--node-name', 'k3s-vm-pumped-piglet', '--node-ip=127.1.2.11', '-i']);
    assert.ok(own.includes('--with-node-id') && own.includes('--flannel-iface=ens18'));
    assert.ok(!own.some((w) => w.includes('SECRET') || w.startsWith('--vpn-auth')), JSON.stringify(own));
  });

  it('a flag value that looks like a flag name is still a value', () => {
    assert.deepEqual(splitJoinFlags(['server', '--node-name', '--disable', '--disable', 'traefik']).keep, ['--disable', 'traefik']);
  });
});
