// Issue 11, "secrets off the command line": a rejoin through install-k3s while the healthy servers were
// installed the way many homelabs do it, with the join token and S3 snapshot credentials on the
// command line (`sh -s - server --token … --etcd-s3-secret-key …`, so in their units' ExecStart).
// Nothing secret may travel in an argv (ps on the Proxmox host and in the guest; qemu-guest-agent logs
// every exec's argv, qemu qga/commands.c guest_exec_get_args), the history, the worker's log or an error.
// Then Phase 3's copy on the same lab: Frigate's config (camera URLs, passwords) and data on stdin too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../helpers/stack';
import { startStack } from '../helpers/stack';
import { workerLogs } from '../helpers/secrets';
import { gateOpen, historyText, waitForStatus } from '../helpers/temporal';
import { send } from '../helpers/decide';
import { statusQuery } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';

const NODE = 'k3s-vm-still-fawn';
const HEALTHY = ['k3s-vm-pumped-piglet', 'k3s-vm-fun-bedbug', 'k3s-vm-pve'];
const S3_ACCESS_KEY = 'AKIALABACCESSKEY0042';
const S3_SECRET_KEY = 'labS3secretKey/with+slash0123456789abcd';
const SERVER_ARGS =
  `--token @@TOKEN@@ --etcd-s3 --etcd-s3-endpoint s3.lab.invalid --etcd-s3-bucket k3s-snapshots ` +
  `--etcd-s3-access-key ${S3_ACCESS_KEY} --etcd-s3-secret-key ${S3_SECRET_KEY}`;

describe('rejoin: no secret in any argv, history, log or error', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ serverArgs: Object.fromEntries(HEALTHY.map((n) => [n, SERVER_ARGS])) });
    const unit = s.lab.vmFile(HEALTHY[0]!, '/etc/systemd/system/k3s.service')!;
    assert.ok(unit.includes(S3_SECRET_KEY) && unit.includes(s.lab.token), 'the healthy servers run with the secrets in their units');
  });
  after(async () => {
    await s?.stop();
  });

  it('rejoins still-fawn; the token, its password and the S3 keys are nowhere a process list, log or history shows', async () => {
    const token = s.lab.token; // K10<ca-hash>::server:<password>, read from the lab
    const password = token.split('::server:')[1]!;
    assert.ok(password && password.length >= 16, token.replace(password, '<password>'));
    const secrets = [
      ['the join token', token],
      ['its server:<password> part', `server:${password}`],
      ['its password', password],
      ['the S3 secret key', S3_SECRET_KEY],
      ['the S3 access key', S3_ACCESS_KEY],
    ] as const;

    const h = await s.startRejoin({ node: NODE, readyTimeoutSeconds: 120 });
    for (const [step, by] of [['remove-stale-node', 'alice'], ['uninstall-k3s', 'bob'], ['install-k3s', 'carol']] as const) {
      await waitForStatus(h, gateOpen(step), 180_000);
      await send(s.lab, h, 'approve', { step, by });
    }
    const outcome = await h.result().then((r: RunbookResult) => r.outcome, (e: Error) => `failed: ${e.message}`);
    const status = await h.query(statusQuery);
    const steps = status.steps.map((st) => `${st.id}=${st.state}${st.error ? ` (${st.error})` : ''}`).join('; ');
    assert.equal(outcome, 'completed', steps);

    // the guest exec path was used and recorded: the install ran inside the VM through qm
    const argv = s.lab.argvRecord();
    const qmExecs = argv.filter((e) => e.tool === 'qm' && e.argv[0] === 'guest' && e.argv[1] === 'exec');
    assert.ok(qmExecs.some((e) => e.argv.includes('--pass-stdin')), 'the token went on stdin (qm guest exec --pass-stdin 1)');
    assert.ok(argv.some((e) => e.tool === 'install.sh' && e.vmid !== null), 'install.sh ran in the guest');
    const agentLogs = s.lab.guestAgentLogs();
    assert.ok(Object.values(agentLogs).flat().some((l) => l.includes('guest-exec called: "bash -c')), JSON.stringify(Object.keys(agentLogs)));

    const history = await h.fetchHistory();
    const places: [string, string][] = [
      ...argv.map((e): [string, string] => [`argv of ${e.tool} on ${e.host}${e.vmid === null ? '' : ` VM ${e.vmid}`}`, e.argv.join(' ')]),
      ...Object.entries(agentLogs).map(([vm, lines]): [string, string] => [`qemu-ga log of ${vm}`, lines.join('\n')]),
      ['the history (JSON)', JSON.stringify(history)],
      ['the history (payloads decoded)', historyText(history)],
      ['the worker log', workerLogs().join('\n')],
      ['the status (steps, evidence, plans, errors)', JSON.stringify(status)],
      ['the errors of the run', status.steps.map((st) => st.error ?? '').join('\n')],
    ];
    const leaks = places.flatMap(([where, text]) => secrets.filter(([, v]) => text.includes(v)).map(([name]) => `${name} in ${where}`));
    assert.deepEqual([...new Set(leaks)], []);

    // the rejoined node got the cluster's S3 settings that are not secret, and none of the secret ones in argv
    const installArgv = argv.find((e) => e.tool === 'install.sh' && e.vmid !== null)!.argv;
    assert.ok(installArgv.includes('--etcd-s3-bucket'), installArgv.join(' '));
    const evidence = status.steps.find((st) => st.id === 'cluster-version')!.evidence.join('\n');
    assert.match(evidence, /--etcd-s3-secret-key \*\*\*/, evidence);
  });

  it("Phase 3's copy: the config, recordings and database reach the node VM on stdin, never in an argv", async () => {
    const h = await s.start('frigateMigration', {}, 'Move Frigate into K3s');
    await waitForStatus(h, gateOpen('label-node'), 180_000);
    await send(s.lab, h, 'approve', { step: 'label-node', by: 'alice' });
    await waitForStatus(h, gateOpen('copy-frigate-data'), 180_000);
    await send(s.lab, h, 'approve', { step: 'copy-frigate-data', by: 'bob' });
    await waitForStatus(h, gateOpen('deploy-frigate'), 300_000);
    await send(s.lab, h, 'reject', { step: 'deploy-frigate', by: 'bob', comment: 'the copy is what this test is about' });
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');

    const config = s.lab.frigate.k3sFile('config/config.yml');
    assert.match(config, /cameras:/, 'the config was copied to the node');
    const configB64 = Buffer.from(config).toString('base64');
    const argv = s.lab.argvRecord(); // the rejoin's too: none of its commands carries data
    const agentLog = Object.values(s.lab.guestAgentLogs()).flat().join('\n');
    const places: [string, string][] = [
      ...argv.map((e): [string, string] => [`argv of ${e.tool} on ${e.host}${e.vmid === null ? '' : ` VM ${e.vmid}`}`, e.argv.join(' ')]),
      ['the qemu-ga logs', agentLog],
    ];
    // a chunk of base64 in a command line is the data itself: the config (camera URLs), a tar of recordings, the database
    const found = places.flatMap(([where, text]) => [
      ...(text.includes(configB64.slice(0, 80)) ? [`the config's base64 in ${where}`] : []),
      ...(/[A-Za-z0-9+/]{1000,}/.test(text) ? [`a base64 run of 1000+ characters in ${where}`] : []),
    ]);
    assert.deepEqual([...new Set(found)], []);
    assert.ok(argv.some((e) => e.tool === 'qm' && e.argv.includes('--pass-stdin')), 'the data went through qm guest exec --pass-stdin');
  });
});
