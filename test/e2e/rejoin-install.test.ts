// Issue 10 items 5 and 9 on the lab: the install script's download fails (a `curl | sh` runs an empty
// script and exits 0), and the cluster's servers carry their own --node-name/--node-ip in their units
// while still-fawn keeps settings (and a token) in /etc/rancher/k3s/config.yaml, which
// k3s-uninstall.sh deletes (k3s install.sh create_uninstall: rm -rf /etc/rancher/k3s).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../helpers/stack';
import { startStack } from '../helpers/stack';
import { historyText } from '../helpers/temporal';
import { approveEveryGate } from '../helpers/approve-every-gate';
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

  it('a failed download of install.sh fails the install step; nothing is run and no step after it starts', async () => {
    s.lab.failDownload('/install.sh', 503);
    try {
      const h = await s.startRejoin({ node: NODE, readyTimeoutSeconds: 20 });
    approveEveryGate(s.lab, h);
      const outcome = await h.result().then((r: RunbookResult) => r.outcome, (e: Error) => `failed: ${e.message}`);
      const status = await h.query(statusQuery);
      const steps = status.steps.map((st) => `${st.id}=${st.state}${st.error ? ` (${st.error})` : ''}`).join('; ');
      const install = status.steps.find((st) => st.id === 'install-k3s')!;
      assert.equal(install.state, 'failed', steps);
      assert.match(install.error ?? '', /download of .*install\.sh failed: curl exited 22/, steps);
      assert.equal(status.steps.find((st) => st.id === 'wait-ready')!.state, 'pending', steps);
      assert.match(outcome, /^failed/);
      assert.deepEqual(installs(), [], 'install.sh never ran');
    } finally {
      s.lab.failDownload('/install.sh', 0);
    }
  });

  it("a second run rejoins with the cluster's flags only and still-fawn's own config.yaml back", async () => {
    const h = await s.startRejoin({ node: NODE, readyTimeoutSeconds: 120 });
    approveEveryGate(s.lab, h);
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

    const history = historyText(await h.fetchHistory());
    assert.ok(!history.includes(s.lab.token), 'the token (also in config.yaml) never entered the history');
    assert.ok(!history.includes('gpu=rx580'), "config.yaml's content is not in the history");
    const exposed = s.lab.audit().filter((e) => e.secretInArgv);
    assert.deepEqual(exposed.map((e) => `${e.host} ${e.tool}`), [], 'the join token was in no argv on any host');
  });
});
