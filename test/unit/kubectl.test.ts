import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { parseNodesJson } from '../../src/activities/parse/kubectl';
import { parseK3sUnitExecStart, parseK3sVersion, serverFlagsForJoin, splitSystemdWords } from '../../src/activities/parse/k3s';

function node(name: string, ready: string | null, ip: string, version = 'v1.32.5+k3s1') {
  return {
    metadata: { name, labels: { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/etcd': 'true', 'kubernetes.io/os': 'linux' } },
    status: {
      addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }],
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        ...(ready ? [{ type: 'Ready', status: ready, reason: 'KubeletReady', message: 'kubelet is posting ready status' }] : []),
      ],
      nodeInfo: { kubeletVersion: version, containerRuntimeVersion: 'containerd://2.0.5-k3s1' },
    },
  };
}

describe('kubectl get nodes -o json', () => {
  it('name, Ready status, version, InternalIP, roles', () => {
    const text = JSON.stringify({
      apiVersion: 'v1',
      items: [node('k3s-vm-pve', 'True', '10.0.0.7'), node('k3s-vm-still-fawn', 'Unknown', '10.0.0.8'), node('x', null, '10.0.0.9')],
      kind: 'List',
      metadata: { resourceVersion: '' },
    }, null, 4);
    assert.deepEqual(parseNodesJson(text), [
      { name: 'k3s-vm-pve', ready: 'True', kubeletVersion: 'v1.32.5+k3s1', internalIP: '10.0.0.7', roles: ['control-plane', 'etcd'] },
      { name: 'k3s-vm-still-fawn', ready: 'Unknown', kubeletVersion: 'v1.32.5+k3s1', internalIP: '10.0.0.8', roles: ['control-plane', 'etcd'] },
      { name: 'x', ready: 'Unknown', kubeletVersion: 'v1.32.5+k3s1', internalIP: '10.0.0.9', roles: ['control-plane', 'etcd'] },
    ]);
  });
  it('empty list and garbage', () => {
    assert.deepEqual(parseNodesJson('{"apiVersion":"v1","items":[],"kind":"List"}'), []);
    assert.throws(() => parseNodesJson('The connection to the server 127.0.0.1:6443 was refused'), (e: unknown) => e instanceof ApplicationFailure && /not JSON/.test(e.message));
  });
});

describe('k3s', () => {
  it('k3s --version', () => {
    assert.equal(parseK3sVersion('k3s version v1.32.5+k3s1 (8e8f2a47)\ngo version go1.23.8\n'), 'v1.32.5+k3s1');
    assert.throws(() => parseK3sVersion('bash: k3s: command not found'), ApplicationFailure);
  });

  // As install.sh writes it: `ExecStart=${BIN_DIR}/k3s \` then CMD_K3S, then quote_indent args.
  const unit = [
    '[Unit]',
    'Description=Lightweight Kubernetes',
    '',
    '[Service]',
    'Type=notify',
    'EnvironmentFile=-/etc/systemd/system/k3s.service.env',
    "ExecStartPre=/bin/sh -xc '! /usr/bin/systemctl is-enabled --quiet nm-cloud-setup.service 2>/dev/null'",
    'ExecStartPre=-/sbin/modprobe br_netfilter',
    'ExecStart=/usr/local/bin/k3s \\',
    '    server \\',
    "\t'--server' \\",
    "\t'https://10.0.0.5:6443' \\",
    "\t'--disable' \\",
    "\t'servicelb' \\",
    "\t'--node-label' \\",
    "\t'note=it'\\''s' \\",
    "\t'--token=K10abc::server:secret' \\",
    '',
    'KillMode=process',
    '',
  ].join('\n');

  it('parses ExecStart into args', () => {
    assert.deepEqual(parseK3sUnitExecStart(unit), [
      'server', '--server', 'https://10.0.0.5:6443', '--disable', 'servicelb', '--node-label', "note=it's", '--token=K10abc::server:secret',
    ]);
    // the brief's four-space form, first server
    const first = "ExecStart=/usr/local/bin/k3s \\\n    server \\\n    '--cluster-init' \\\n    '--disable' \\\n    'servicelb' \\\n\n";
    assert.deepEqual(parseK3sUnitExecStart(first), ['server', '--cluster-init', '--disable', 'servicelb']);
    assert.throws(() => parseK3sUnitExecStart('[Service]\nType=notify\n'), ApplicationFailure);
  });

  it('serverFlagsForJoin keeps only the server\'s own configuration', () => {
    // --node-label is the healthy node's own (k3s pkg/cli/cmds/agent.go NodeLabels): not copied
    assert.deepEqual(serverFlagsForJoin(parseK3sUnitExecStart(unit)), ['--disable', 'servicelb']);
    assert.deepEqual(serverFlagsForJoin(['server', '--cluster-init', '--disable', 'servicelb']), ['--disable', 'servicelb']);
    assert.deepEqual(
      serverFlagsForJoin(['server', '--server=https://a:6443', '--token-file', '/t', '--agent-token', 'x', '-t', 'y', '--tls-san', 'k3s.lan', '--cluster-init=true']),
      ['--tls-san', 'k3s.lan'],
    );
  });

  it('splitSystemdWords handles both quote styles and escapes', () => {
    assert.deepEqual(splitSystemdWords(`a 'b c' "d \\"e\\"" f\\ g ''`), ['a', 'b c', 'd "e"', 'f g', '']);
  });
});
