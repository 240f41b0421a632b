// The lab's K3s joins as real K3s does while the cluster is still coming back (k3s pkg/etcd/etcd.go
// Start: the join is retried once a second while the join server's member list cannot be read). The
// restart e2e approved the install right after a power cycle; the lab's k3s failed the join on the first
// unreadable member list, so install.sh failed where a real K3s would have waited and joined.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../lab/src/index';
import { sshExec } from '../helpers/lab-ssh';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const NODE = 'k3s-vm-still-fawn';

describe('lab: a K3s server joining while the join server\'s etcd does not answer', { timeout: 300_000 }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.start();
  });
  after(async () => {
    await lab?.stop();
  });

  /** `qm guest exec` on the VM's host: the guest's exit code and output. */
  const inVm = async (host: string, vmid: number, script: string, timeoutS = 60, stdin?: string) => {
    const pass = stdin === undefined ? '' : ' --pass-stdin 1';
    const r = await sshExec(lab, host, `qm guest exec ${vmid}${pass} --timeout ${timeoutS} -- bash -c ${q(script)}`, stdin);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { exitcode?: number; 'out-data'?: string; 'err-data'?: string };
  };

  it('waits for the member list and joins once it answers, as K3s does', async () => {
    const piglet = lab.info.vms.find((v) => v.host === 'pumped-piglet')!;
    const fawn = lab.info.vms.find((v) => v.node === NODE)!;
    // the seed's steps by hand: the node deleted (K3s removes its member), the stale install uninstalled
    assert.equal((await inVm('pumped-piglet', piglet.vmid, `kubectl delete node ${NODE}`))['out-data'], `node "${NODE}" deleted\n`);
    assert.equal((await inVm('still-fawn', fawn.vmid, 'systemctl stop k3s; /usr/local/bin/k3s-uninstall.sh >/dev/null 2>&1')).exitcode, 0);
    const token = (await inVm('pumped-piglet', piglet.vmid, 'cat /var/lib/rancher/k3s/server/token'))['out-data']!.trim();

    // the join server's etcd stops answering (its process frozen) for a few seconds while the install runs
    const etcdPid = Number(fs.readFileSync(path.join(lab.dir, 'hosts', 'pumped-piglet', 'vms', String(piglet.vmid), 'run', 'etcd.pid'), 'utf8'));
    process.kill(etcdPid, 'SIGSTOP');
    const thaw = setTimeout(() => process.kill(etcdPid, 'SIGCONT'), 8_000);
    let install;
    try {
      install = await inVm(
        'still-fawn',
        fawn.vmid,
        // the token on stdin, as the runbook passes it
        `IFS= read -r K3S_TOKEN; export K3S_TOKEN; curl -sfL ${lab.installScriptUrl} | INSTALL_K3S_VERSION=${lab.info.k3sVersion} K3S_URL=https://${piglet.address}:6443 sh -s - server`,
        300,
        `${token}\n`,
      );
    } finally {
      clearTimeout(thaw);
      process.kill(etcdPid, 'SIGCONT');
    }
    const journal = (await inVm('still-fawn', fawn.vmid, 'journalctl -u k3s --no-pager -n 200'))['out-data'] ?? '';
    assert.equal(install.exitcode, 0, `${install['err-data']}\n${journal}`);
    assert.match(journal, /Waiting to retrieve etcd cluster member list: failed to get MemberList from server/);

    const members = await lab.etcdMembers();
    assert.equal(members.length, 4);
    assert.ok(members.some((m) => m.name.startsWith(`${NODE}-`) && m.started && !m.isLearner), JSON.stringify(members));
  });
});
