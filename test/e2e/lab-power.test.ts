// The lab's power as a homelab's: a host boots the guests that have `onboot` set, as Proxmox's startall
// does (pve-manager PVE/API2/Nodes.pm), whatever ran before; the whole lab powers off and on again as the
// same homelab (a host switched off on its own stays off), and never moves to another subnet when its ports are taken.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Lab } from '../../lab/src';
import { setOnboot } from '../../lab/src/faults';
import { FRIGATE_LXC } from '../../lab/src/frigate';
import { until } from '../helpers/temporal';

const { host: CT_HOST, ctid: CTID } = FRIGATE_LXC;

describe('lab power: host boots and the whole homelab', () => {
  let dir: string;
  let lab: Lab;
  before(async () => {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lab-power-')), 'lab');
    lab = await Lab.start({ dir, persist: true, staleNode: false });
  });
  after(async () => {
    await Lab.attach(dir).stop();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  const ready = async (node: string) => (await lab.kubeNodes()).find((n) => n.name === node)?.ready;

  it('a host reboot starts the CTs and VMs with onboot: a CT stopped by hand comes back, one without onboot stays off; a left-over backup lock is removed', async () => {
    assert.equal(lab.lxc.container(CT_HOST, CTID)?.onboot, 1);
    lab.lxc.setStatus(CT_HOST, CTID, 'stopped'); // `pct stop` leaves onboot as it was
    lab.lxc.setConfig(CTID, 'lock', 'backup'); // a vzdump killed by the power loss
    await lab.reboot(CT_HOST, { downMs: 500 });
    const ct = lab.lxc.container(CT_HOST, CTID)!;
    assert.deepEqual({ status: ct.status, lock: ct.lock, frigate: ct.units.frigate }, { status: 'running', lock: undefined, frigate: 'active' });

    lab.lxc.setConfig(CTID, 'onboot', '0');
    setOnboot(dir, CT_HOST, 106, false); // VM 106, k3s-vm-fun-bedbug
    await lab.reboot(CT_HOST, { downMs: 500 });
    assert.equal(lab.lxc.container(CT_HOST, CTID)?.status, 'stopped', 'onboot 0: the CT stays off');
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(await ready('k3s-vm-fun-bedbug'), 'Unknown', 'onboot 0: the VM stays off, its node NotReady');

    lab.lxc.setConfig(CTID, 'onboot', '1');
    setOnboot(dir, CT_HOST, 106, true);
    await lab.reboot(CT_HOST, { downMs: 500 });
    await until(async () => (await ready('k3s-vm-fun-bedbug')) === 'True', 60_000, 500);
    assert.equal(lab.lxc.container(CT_HOST, CTID)?.status, 'running');
  });

  it('powered off, the lab keeps its state; a taken port is a clear error (never a new subnet); powered on, the same lab', async () => {
    const subnet = lab.subnet;
    const members = (await lab.etcdMembers()).map((m) => m.id).sort();
    await lab.stop({ keepDir: true });
    assert.deepEqual(lab.processes(), []);
    assert.equal(lab.lxc.container(CT_HOST, CTID)?.status, 'stopped', 'powered off: every guest is off');

    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(2222, lab.info.hosts['pve']!.address, r));
    try {
      await assert.rejects(Lab.start({ dir, persist: true }), (e: Error) => e.message.includes(`${subnet}.4:2222 in use by another process`) && /subnet .* is fixed/.test(e.message));
      assert.equal(lab.subnet, subnet);
      assert.deepEqual(lab.processes(), [], 'a failed power-on leaves nothing running');
    } finally {
      await new Promise((r) => squatter.close(r));
    }

    lab = await Lab.start({ dir, persist: true });
    assert.equal(lab.resumed, true);
    assert.equal(lab.subnet, subnet);
    await until(async () => (await lab.endpointHealth().catch(() => [])).filter((h) => h.health).length === 4, 60_000, 500);
    assert.deepEqual((await lab.etcdMembers()).map((m) => m.id).sort(), members, 'the same members, restarted from their data');
    assert.equal(lab.lxc.container(CT_HOST, CTID)?.status, 'running', 'onboot: the CT is back');

    // a host powered off on its own stays off through the whole lab's power cycle, until its own power-on
    await lab.powerOff('pve');
    await lab.stop({ keepDir: true });
    lab = await Lab.start({ dir, persist: true });
    const sshdUp = (host: string) => new Promise<boolean>((r) => {
      const s = net.connect({ host: lab.info.hosts[host]!.address, port: 2222 }, () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    assert.deepEqual([await sshdUp('pve'), await sshdUp('pumped-piglet')], [false, true]);
    await lab.powerOn('pve');
    await until(async () => (await ready('k3s-vm-pve')) === 'True', 60_000, 500);
  });
});
