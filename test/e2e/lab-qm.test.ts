// The lab's qm against qemu-server's (src/PVE/CLI/qm.pm `exec`, src/PVE/QemuServer/Agent.pm): past
// --timeout qm prints `timeout reached, returning pid` and the pid, and the guest command runs on;
// `qm guest exec-status` reports it running, then its result once, then no longer knows the pid.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../lab/src/index';

import { sshExec, type Exec } from '../helpers/lab-ssh';

describe("the lab's qm guest exec, as qemu-server's", () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.start({ staleNode: false });
  });
  after(async () => {
    await lab?.stop();
  });

  it('past --timeout: the pid on stdout, the warning on stderr, exit 0; the command runs on and exec-status follows it', async () => {
    const r = await sshExec(lab, 'still-fawn', `qm guest exec 108 --timeout 1 -- bash -c 'sleep 4; echo done'`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'timeout reached, returning pid\n');
    const m = /^\{\n {3}"pid" : (\d+)\n\}\n$/.exec(r.stdout);
    assert.ok(m, JSON.stringify(r.stdout));
    const status = () => sshExec(lab, 'still-fawn', `qm guest exec-status 108 ${m[1]}`);
    assert.equal((await status()).stdout, '{\n   "exited" : 0\n}\n', 'still running after qm returned');
    let done: Exec | undefined;
    for (let i = 0; i < 100 && !done; i++) {
      const s = await status();
      if (s.stdout.includes('"exited" : 1')) done = s;
      else await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(done?.stdout, '{\n   "exitcode" : 0,\n   "exited" : 1,\n   "out-data" : "done\\n"\n}\n');
    const gone = await status();
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /^Agent error: Invalid parameter 'pid'/);
  });

  it('--pass-stdin 1 hands stdin to the guest command; it is in no argv', async () => {
    const r = await sshExec(lab, 'still-fawn', `qm guest exec 108 --timeout 10 --pass-stdin 1 -- bash -c 'read -r x; echo "got $x"'`, 'secret-value\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout)['out-data'], 'got secret-value\n');
    assert.ok(!JSON.stringify(lab.audit()).includes('secret-value'));
  });

  it('parameter errors as qm.pm and Agent.pm word them', async () => {
    const both = await sshExec(lab, 'still-fawn', `qm guest exec 108 --synchronous 0 --timeout 5 -- true`);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /synchronous: needs to be set for 'timeout'/);
    const none = await sshExec(lab, 'still-fawn', 'qm guest exec 108');
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /command or input-data \(or both\) required/);
  });
});
