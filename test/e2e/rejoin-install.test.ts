// Issue 10 items 5 and 9 on the lab: the install script's download fails (a `curl | sh` runs an empty
// script and exits 0): the run waits at the failed install (issue 13), the operator aborts it, or
// fixes the lab and retries; and the cluster's servers carry their own --node-name/--node-ip in their units
// while still-fawn keeps settings (and a token) in /etc/rancher/k3s/config.yaml, which
// k3s-uninstall.sh deletes (k3s install.sh create_uninstall: rm -rf /etc/rancher/k3s).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../helpers/stack';
import { startStack } from '../helpers/stack';
import { historyText } from '../helpers/temporal';
import { recordHistory } from '../helpers/histories';
import { approveEveryGate } from '../helpers/approve-every-gate';
import { abortAtFailure, atFailedGate, decideFailed } from '../helpers/failed-gate';
import { statusQuery } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';

const NODE = 'k3s-vm-still-fawn';
const HEALTHY = 'k3s-vm-pumped-piglet';
const CONFIG = '/etc/rancher/k3s/config.yaml';
const CONFIG_TEXT = 'node-label:\n  - gpu=rx580\n  - frigate=true\ntoken: @@TOKEN@@\nwrite-kubeconfig-mode: "0600"\n';

describe('rejoin: the install step against a failing download, node-specific flags and config.yaml', () => {
  let s: Stack;
  let config: string;
  before(async () => {
    s = await startStack({ pinNodeFlags: true, configYaml: { [NODE]: CONFIG_TEXT } });
    config = s.lab.vmFile(NODE, CONFIG)!;
    assert.ok(config.includes(s.lab.token), 'the lab wrote still-fawn its config.yaml with the token');
  });
  after(async () => {
    await s?.stop();
  });

  const installs = () => s.lab.audit().filter((e) => e.tool === 'install.sh');

  it('a failed download of install.sh stops the run at a failed gate; abort ends it with nothing further changed', async () => {
    s.lab.failDownload('/install.sh', 503);
    try {
      const h = await s.startRejoin({ node: NODE, readyTimeoutSeconds: 20 });
      approveEveryGate(s.lab, h);
      const { status, step: install } = await atFailedGate(h);
      const steps = status.steps.map((st) => `${st.id}=${st.state}${st.error ? ` (${st.error})` : ''}`).join('; ');
      assert.equal(install?.id, 'install-k3s', steps);
      assert.equal(install.state, 'failed', steps);
      assert.match(install.error ?? '', /download of .*install\.sh failed: curl exited 22/, steps);
      assert.match(status.openGate!.instructions, /curl exited 22.*send `retry`.*`abort`/);
      assert.equal(status.steps.find((st) => st.id === 'wait-ready')!.state, 'pending', steps);
      assert.deepEqual(installs(), [], 'install.sh never ran');
      const before = s.lab.audit().length;
      const result = await abortAtFailure(s.lab, h, 'install-k3s');
      assert.equal(result.outcome, 'aborted');
      assert.match(result.summary, /aborted at "install-k3s" after it failed \(.*curl exited 22.*\); changed: remove-stale-node, uninstall-k3s; "install-k3s" failed part-way/);
      assert.equal(s.lab.audit().length, before, 'nothing ran on any host after the abort');
      assert.equal(result.steps.find((st) => st.id === 'wait-ready')!.state, 'pending');
    } finally {
      s.lab.failDownload('/install.sh', 0);
    }
  });

  it("a second run whose install fails is retried once the lab is fixed, and rejoins with the cluster's flags only and still-fawn's own config.yaml back", async () => {
    s.lab.failDownload('/install.sh', 503);
    const h = await s.startRejoin({ node: NODE, readyTimeoutSeconds: 120 });
    approveEveryGate(s.lab, h);
    try {
      const { step: failed } = await atFailedGate(h);
      assert.equal(failed?.id, 'install-k3s');
    } finally {
      s.lab.failDownload('/install.sh', 0); // the operator fixes the mirror
    }
    await decideFailed(s.lab, h, 'install-k3s', 'retry', 'bob');
    const outcome = await h.result().then((r: RunbookResult) => r.outcome, (e: Error) => `failed: ${e.message}`);
    const status = await h.query(statusQuery);
    const steps = status.steps.map((st) => `${st.id}=${st.state}${st.error ? ` (${st.error})` : ''}`).join('; ');
    assert.equal(outcome, 'completed', steps);

    assert.equal(s.lab.vmFile(NODE, CONFIG), config, 'config.yaml is back as it was before the uninstall');
    const unit = s.lab.vmFile(NODE, '/etc/systemd/system/k3s.service')!;
    assert.match(unit, /'--disable' \\\n\t'servicelb'/, unit);
    assert.doesNotMatch(unit, new RegExp(HEALTHY), "the healthy node's --node-name was not copied");
    const info = s.lab.info;
    const piglet = info.vms.find((v) => v.node === HEALTHY)!;
    const fawn = info.vms.find((v) => v.node === NODE)!;
    assert.ok(!unit.includes(piglet.address), "nor its --node-ip");
    // still-fawn's own node-specific flags, from its unit before the uninstall, are back
    assert.match(unit, new RegExp(`'--node-name' \\\\\n\t'${NODE}'`), unit);
    assert.match(unit, new RegExp(`'--node-ip' \\\\\n\t'${fawn.address.replaceAll('.', '\\.')}'`), unit);
    const members = await s.lab.etcdMembers();
    const mine = members.filter((m) => m.name.startsWith(`${NODE}-`));
    assert.equal(mine.length, 1, JSON.stringify(members));
    assert.deepEqual(mine[0]!.peerURLs, [`https://${fawn.address}:2380`], 'its own peer URL, not pumped-piglet\'s');
    assert.ok(!members.some((m) => m.name.startsWith(`${NODE}-`) && m.peerURLs.some((u) => u.includes(piglet.address))));
    assert.equal((await s.lab.kubeNodes()).find((n) => n.name === NODE)?.ready, 'True');
    assert.equal(installs().length, 1, 'install.sh ran once over both runs');
    const install = status.steps.find((st) => st.id === 'install-k3s')!;
    assert.deepEqual(install.failures?.map((f) => [f.attempt, f.decision?.decision]), [[1, 'retry']]);
    const decided = (await h.result()).approvals.filter((a: { step: string }) => a.step === 'install-k3s').map((a: { decision: string }) => a.decision);
    assert.deepEqual(decided, ['approve', 'retry', 'approve'], 'the retried install was approved afresh');
    await recordHistory('rejoin-install-retried', h);

    const history = historyText(await h.fetchHistory());
    assert.ok(!history.includes(s.lab.token), 'the token (also in config.yaml) never entered the history');
    assert.ok(!history.includes('gpu=rx580'), "config.yaml's content is not in the history");
    const exposed = s.lab.audit().filter((e) => e.secretInArgv);
    assert.deepEqual(exposed.map((e) => `${e.host} ${e.tool}`), [], 'the join token was in no argv on any host');
  });
});
