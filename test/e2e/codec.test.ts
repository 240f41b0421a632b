// Issue 5 item 6: the optional payload encryption codec, both ways, on a real dev server whose Web UI
// is pointed at the codec server (`--ui-codec-endpoint`). With the key configured the way users
// configure it (RUNBOOK_CODEC_KEY_FILE), the worker (createRunbookWorker) and the CLI's client
// (withClient) encrypt every payload; raw history holds ciphertext only; the codec server decodes it;
// a client without the key cannot read the results, and a run started without the codec still works.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { Runtime, Worker } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunbookActivities } from '../../src/activities';
import { withClient } from '../../src/cli/context';
import { AesGcmCodec, codecDataConverter, codecFromEnv, ENCRYPTED_ENCODING } from '../../src/shared/codec';
import { startCodecServer, type CodecServer } from '../../src/shared/codec-server';
import { temporalExecutable } from '../../src/shared/temporal-cli';
import { createRunbookWorker } from '../../src/worker';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../src/workflows/runbook/search-attributes';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { findSecrets, recordingLogger, scanForSecrets } from '../helpers/secrets';
import { freePort, uniqueId, workflowBundle } from '../helpers/temporal';

const NODE = 'k3s-vm-still-fawn';
const FAKE_TOKEN = `K10${'ab'.repeat(32)}::server:${randomBytes(16).toString('hex')}`;

/** Every Payload in a history (inputs, results, details, user metadata...) with where it is. */
function payloadsOf(v: unknown, at = '', out: { at: string; metadata?: Record<string, Uint8Array>; data?: Uint8Array }[] = []) {
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const o = v as Record<string, unknown>;
    if ('data' in o && 'metadata' in o && o.data instanceof Uint8Array) out.push({ ...(o as object), at });
    else Object.entries(o).forEach(([k, x]) => payloadsOf(x, `${at}.${k}`, out));
  }
  return out;
}

/** The rejoin's read-only steps, mocked: a dry run completes without a lab. */
function dryRunActivities(): Partial<RunbookActivities> {
  const plan = (c: string) => ({ target: 'still-fawn VM 108', commands: [c], facts: {}, digest: '0123456789ab' });
  return {
    approvalPolicy: async () => ({ approvers: ['alice'], twoPersonIrreversible: false }),
    notifyGate: async () => ({ sent: false }),
    describeK3sNode: async ({ node }) => ({ name: node, host: 'still-fawn', vmid: 108, address: '127.0.0.12', gpuPassthrough: false, approvers: ['alice'], peers: [], evidence: [] }),
    checkVmRunning: async () => ({ evidence: ['running'] }),
    checkClusterHealth: async () => ({ healthyNode: 'k3s-vm-pumped-piglet', before: { members: 4, quorum: 3, healthy: 3 }, after: { members: 3, quorum: 2, healthy: 3 }, evidence: [] }),
    identifyStaleMember: async () => ({ member: { id: '1f57491286ac4c3', name: `${NODE}-0a1b2c3d`, peerURL: 'https://127.0.0.12:2380' }, evidence: [] }),
    readClusterVersion: async () => ({ version: 'v1.32.5+k3s1', serverFlags: [], evidence: [] }),
    planStaleNodeRemoval: async () => ({ plan: plan(`kubectl delete node ${NODE}`), facts: { node: NODE, healthyNode: 'k3s-vm-pumped-piglet', deleteNode: true, removeMemberId: '1f57491286ac4c3' } }),
    planUninstall: async () => ({ plan: plan('k3s-uninstall.sh'), facts: { node: NODE, installed: true } }),
    planInstall: async () => ({ plan: plan('K3S_TOKEN=*** sh'), facts: { node: NODE, healthyNode: 'k3s-vm-pumped-piglet', staleMemberName: null, version: 'v1.32.5+k3s1', serverFlags: [] } }),
  } as Partial<RunbookActivities>;
}

describe('payload encryption codec on a dev server with the Web UI', () => {
  let env: TestWorkflowEnvironment;
  let codecServer: CodecServer;
  let uiUrl: string;
  let codec: AesGcmCodec;
  let plain: Client;
  const stops: (() => Promise<unknown>)[] = [];
  const mockQueue = uniqueId('codec-mock');
  const realQueue = uniqueId('codec-real');
  const saved = { ...process.env };

  before(async () => {
    Runtime.install({ logger: recordingLogger('WARN') });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codec-e2e-'));
    stops.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    process.env.RUNBOOK_CODEC_KEY_FILE = path.join(dir, 'key');
    codec = codecFromEnv()!;

    const uiPort = await freePort();
    uiUrl = `http://127.0.0.1:${uiPort}`;
    codecServer = await startCodecServer({ codec, port: 0, origins: [uiUrl, `http://localhost:${uiPort}`] });
    stops.push(() => codecServer.close());
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: temporalExecutable(),
        searchAttributes: RUNBOOK_SEARCH_ATTRIBUTES,
        ui: true,
        uiPort,
        extraArgs: ['--ui-codec-endpoint', codecServer.url],
      },
    });
    stops.push(() => env.teardown());
    plain = env.client; // no codec: sees what the server stores
    process.env.TEMPORAL_ADDRESS = env.address;
    process.env.TEMPORAL_NAMESPACE = 'default';

    // a worker with mocked activities and the codec, and the real worker (key from the environment)
    const mock = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: mockQueue,
      workflowBundle: await workflowBundle(),
      activities: dryRunActivities(),
      ...codecDataConverter(codec),
    });
    const inventory = path.join(dir, 'inventory.yaml');
    fs.writeFileSync(inventory, [
      `ssh: { knownHostsPath: ${path.join(dir, 'known_hosts')}, privateKeyPath: ${path.join(dir, 'none')} }`,
      'hosts: { still-fawn: { address: 127.0.0.1, port: 1 } }',
      `k3s: { nodes: { ${NODE}: { host: still-fawn, vmid: 108, address: 127.0.0.12 } } }`,
      'approvers: [alice]',
      'approvals: { identity: names }',
    ].join('\n'));
    const real = await createRunbookWorker({ inventoryPath: inventory, connection: env.nativeConnection, taskQueue: realQueue, workflowBundle: await workflowBundle() });
    for (const w of [mock, real.worker]) {
      const running = w.run();
      stops.push(async () => {
        w.shutdown();
        await running;
      });
    }
    stops.push(() => real.exec.close());
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.error('cleanup:', e));
    process.env = saved;
  });

  it('the Web UI is served with the codec endpoint', async () => {
    const settings = (await (await fetch(`${uiUrl}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
    assert.equal(settings.Codec?.Endpoint, codecServer.url);
  });

  it('a dry run through the CLI client: readable with the key, ciphertext in raw history, decoded by the codec server', async () => {
    const workflowId = uniqueId('codec-dry');
    const result = await withClient(async (client) => {
      const h = await client.workflow.start('k3sRejoin', { taskQueue: mockQueue, workflowId, args: [{ node: NODE, dryRun: true, requestedBy: 'alice' }], staticSummary: `Dry run: rejoin ${NODE}` });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'dry-run');
    assert.equal(result.target, NODE);

    const history = await plain.workflow.getHandle(workflowId).fetchHistory();
    const payloads = payloadsOf(history);
    assert.ok(payloads.length >= 10, `${payloads.length} payloads`);
    // search attributes are never encoded (the server indexes them): RunbookName/RunbookTarget stay readable
    const [searchAttributes, encoded] = [payloads.filter((p) => p.at.includes('.searchAttributes.')), payloads.filter((p) => !p.at.includes('.searchAttributes.'))];
    // TemporalChangeVersion: the SDK records the run's patch IDs there (patched('local-checks')): IDs only
    assert.ok(searchAttributes.length >= 2 && searchAttributes.every((p) => /RunbookName|RunbookTarget|RunbookWaitingOn|TemporalChangeVersion/.test(p.at)), JSON.stringify(searchAttributes.map((p) => p.at)));
    for (const p of searchAttributes.filter((x) => x.at.endsWith('.TemporalChangeVersion'))) {
      const ids = JSON.parse(Buffer.from(p.data!).toString('utf8')) as string[];
      assert.ok(ids.every((id) => /^[a-z0-9-]+$/.test(id)), `patch IDs only: ${JSON.stringify(ids)}`);
    }
    // markers core writes itself, past the codec: a patch's ID and a local check's type, attempt and times
    // (never its input or result, which are payloads of their own and encrypted)
    const coreMarker = (at: string) => /\.markerRecordedEventAttributes\.details\.(patch-data|data)\.payloads\.0$/.test(at);
    for (const p of encoded.filter((x) => coreMarker(x.at))) {
      const text = Buffer.from(p.data!).toString('utf8');
      assert.ok(!text.includes('still-fawn') && !text.includes('alice'), `no node or user in ${p.at}: ${text}`);
      const keys = Object.keys(JSON.parse(text) as object).sort().join(',');
      assert.match(keys, /^(deprecated,id|id)$|activity_?[tT]ype/, `marker metadata only in ${p.at}: ${keys}`);
    }
    for (const p of encoded.filter((x) => !coreMarker(x.at))) {
      assert.equal(Buffer.from(p.metadata!.encoding!).toString(), ENCRYPTED_ENCODING, `encrypted: ${p.at}`);
      assert.ok(!Buffer.from(p.data!).toString('latin1').includes('still-fawn'), `no plaintext node name in ${p.at}`);
    }
    assert.ok(encoded.some((p) => p.at.includes('userMetadata')), 'the summary and current details are encrypted too');
    // a client without the key cannot read the result
    await assert.rejects(plain.workflow.getHandle(workflowId).result(), /binary\/encrypted|encoding/i);

    // the Web UI's path: POST <codec endpoint>/decode from the UI's origin
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const res = await fetch(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: uiUrl },
      body: JSON.stringify({ payloads: [{ metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(input.data!).toString('base64') }] }),
    });
    assert.equal(res.headers.get('access-control-allow-origin'), uiUrl);
    const decoded = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(decoded.payloads[0]!.metadata.encoding!, 'base64').toString(), 'json/plain');
    assert.deepEqual(JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString()), { node: NODE, dryRun: true, requestedBy: 'alice' });
  });

  it('the real worker with the key from RUNBOOK_CODEC_KEY_FILE encrypts what its activities return', async () => {
    const workflowId = uniqueId('codec-real');
    const err = await withClient(async (client) => {
      const h = await client.workflow.start('k3sRejoin', { taskQueue: realQueue, workflowId, args: [{ node: 'k3s-vm-not-in-inventory' }] });
      return h.result().then(() => undefined, (e: unknown) => e);
    });
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const history = await plain.workflow.getHandle(workflowId).fetchHistory();
    const completed = history.events!.find((e) => e.activityTaskCompletedEventAttributes)?.activityTaskCompletedEventAttributes;
    assert.ok(completed, 'approvalPolicy ran on the real worker');
    const [result] = completed.result!.payloads!;
    assert.equal(Buffer.from(result!.metadata!.encoding!).toString(), ENCRYPTED_ENCODING);
    assert.ok(!Buffer.from(result!.data!).toString('latin1').includes('alice'), 'the approvers list is not readable');
    const [decoded] = await codec.decode([result!]);
    assert.deepEqual(JSON.parse(Buffer.from(decoded!.data!).toString()).approvers, ['alice']);
    // the failure's text (it names the node) is encrypted too: no event's message or stack shows it
    const failures = JSON.stringify(history.events, (k, v: unknown) => (v instanceof Uint8Array ? undefined : v));
    assert.ok(!failures.includes('not-in-inventory'), `no failure text in clear: ${failures.match(/.{80}not-in-inventory.{40}/)?.[0]}`);
    assert.match(failures, /Encoded failure/);
    // ...and read back with the key
    assert.match(String((err as WorkflowFailedError).cause?.message), /k3s-vm-not-in-inventory/);
  });

  it('a run started without the key (a UI without the endpoint, anyone on the LAN) is refused by the worker: nothing runs', async () => {
    const h = await plain.workflow.start('k3sRejoin', { taskQueue: mockQueue, workflowId: uniqueId('codec-plain'), args: [{ node: NODE, dryRun: true }] });
    let failed: Payload | undefined;
    for (let i = 0; i < 100 && !failed; i++) {
      const events = (await h.fetchHistory()).events ?? [];
      failed = events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure?.encodedAttributes ?? undefined;
      assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes), 'no activity was scheduled');
      if (!failed) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(failed, 'the workflow task failed');
    // the task failure's text is encrypted like every failure's: read it with the key
    const [attrs] = await codec.decode([failed]);
    assert.match(JSON.parse(Buffer.from(attrs!.data!).toString()).message, /payload is not encrypted \(encoding json\/plain\).*codec key/);
    assert.equal((await h.describe()).status.name, 'RUNNING', 'stuck at its first workflow task');
    await h.terminate('test: refused plaintext run');
  });

  it('the secrets scan decodes encrypted payloads: a secret hidden by the codec is still found', async () => {
    const workflowId = uniqueId('codec-canary');
    await withClient(async (client) => {
      const h = await client.workflow.start('k3sRejoin', { taskQueue: mockQueue, workflowId, args: [{ node: NODE, dryRun: true, requestedBy: FAKE_TOKEN }] });
      await h.result().catch(() => undefined); // refused: requestedBy is not a user name
    });
    const secrets = [{ name: 'canary token', value: FAKE_TOKEN }];
    const raw = await scanForSecrets({ client: plain, secrets, query: `WorkflowId = '${workflowId}'`, logs: [] });
    assert.equal(raw.runs, 1);
    assert.deepEqual(raw.hits, [], 'ciphertext alone hides it');
    const decoded = await scanForSecrets({ client: plain, secrets, codec, query: `WorkflowId = '${workflowId}'`, logs: [] });
    assert.deepEqual(decoded.hits, [`canary token in the history of ${workflowId} (k3sRejoin)`]);
    assert.deepEqual(findSecrets(`INFO x ${FAKE_TOKEN}`, secrets, 'a log'), ['canary token in a log']);
  });
});
