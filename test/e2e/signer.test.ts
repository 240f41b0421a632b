// Issue 11, "the UI can sign for the operator": `runbook signer` at the HTTP level, the way the Web UI
// v2.42.1 calls a codec endpoint before it sends a signal (POST <endpoint>/encode with the UI's origin,
// temporalio/ui src/lib/services/data-encoder.ts codeServerRequest). A real dev server runs a small
// workflow that answers the runbooks' `status` query with an open gate (test/workflows/open-gate.ts);
// the operator's key is in a real ssh-agent and the signer gets only its .pub. The signature it adds
// must verify with `ssh-keygen -Y verify` against an allowed_signers naming the key, over
// decisionText(); anything that is not a decision of the gate open now is refused, and nothing else
// than the UI's origin may have a decision signed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startSigner } from '../../src/cli/signer';
import { AesGcmCodec, ENCRYPTED_ENCODING } from '../../src/shared/codec';
import type { CodecServer } from '../../src/shared/codec-server';
import { decisionText, SIGNATURE_NAMESPACE } from '../../src/workflows/runbook/decision';
import { statusQuery } from '../../src/workflows/runbook/messages';
import type { OpenGate } from '../../src/workflows/runbook/types';
import { startTemporal, uniqueId } from '../helpers/temporal';
import { approveSignal, finishSignal, moveGateSignal, receivedQuery } from '../workflows/open-gate';

const UI = 'http://127.0.0.1:8233';
const DIGEST = 'ab'.repeat(32);
const gate = (step: string, kind: OpenGate['kind'] = 'approval', digest: string | null = DIGEST): OpenGate => ({
  step, kind, since: new Date(0).toISOString(), instructions: 'approve the plan', digest: digest ?? undefined, needs: 1, approvedBy: [],
});

type JsonPayload = { metadata: Record<string, string>; data: string };
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const jsonPayload = (v: unknown) => toJson(defaultPayloadConverter.toPayload(v));
const dataOf = (p: JsonPayload) => JSON.parse(Buffer.from(p.data, 'base64').toString()) as Record<string, unknown>;

describe('runbook signer: the Web UI signs a decision through its codec endpoint', () => {
  let env: TestWorkflowEnvironment;
  let signer: CodecServer;
  let run: WorkflowHandleWithFirstExecutionRunId;
  let dir: string;
  let agentPid: number | undefined;
  const stops: (() => Promise<unknown>)[] = [];
  const savedSock = process.env.SSH_AUTH_SOCK;
  const taskQueue = uniqueId('signer');
  const logged: string[] = [];

  const decision = (over: Record<string, unknown> = {}) => ({
    step: 'destroy-ct', decision: 'approve', workflowId: run.workflowId, runId: run.firstExecutionRunId, namespace: 'default', digest: DIGEST, ...over,
  });
  const encode = (payloads: JsonPayload[], origin: string | null = UI, url = signer.url) =>
    fetch(`${url}/encode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...(origin ? { origin } : {}) },
      body: JSON.stringify({ payloads }),
    });
  const refusal = async (res: Response) => {
    assert.equal(res.status, 400);
    return ((await res.json()) as { error: string }).error;
  };
  /** Moves the fixture's gate and waits until its status query shows it. */
  const moveGate = async (g: OpenGate | null) => {
    await run.signal(moveGateSignal, g);
    for (let i = 0; i < 100 && (await run.query(statusQuery)).openGate?.step !== g?.step; i++) await new Promise((r) => setTimeout(r, 100));
  };
  /** ssh-keygen -Y verify of `signature` over `text`, for principal alice in our namespace. */
  const verifies = (text: string, signature: string) => {
    const sig = path.join(dir, `sig-${randomBytes(4).toString('hex')}`);
    fs.writeFileSync(sig, signature);
    const r = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', path.join(dir, 'allowed_signers'), '-I', 'alice', '-n', SIGNATURE_NAMESPACE, '-s', sig], { input: text, encoding: 'utf8' });
    return r.status === 0 && /Good "homelab-runbooks" signature for alice/.test(r.stdout + r.stderr);
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signer-e2e-'));
    stops.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    // the operator's key lives in ssh-agent only; the signer is handed the public half
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@laptop', '-f', path.join(dir, 'alice')]);
    const sock = path.join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    agentPid = agent.pid;
    stops.push(async () => {
      if (agentPid) process.kill(agentPid);
      process.env.SSH_AUTH_SOCK = savedSock;
    });
    for (let i = 0; i < 50 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    process.env.SSH_AUTH_SOCK = sock;
    execFileSync('ssh-add', ['-q', path.join(dir, 'alice')], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    fs.rmSync(path.join(dir, 'alice')); // gone from disk: only the agent can sign now
    const pub = fs.readFileSync(path.join(dir, 'alice.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    fs.writeFileSync(path.join(dir, 'allowed_signers'), `alice namespaces="${SIGNATURE_NAMESPACE}" ${pub}\n`);

    env = await startTemporal();
    stops.push(() => env.teardown());
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows/open-gate'), logger: new DefaultLogger('WARN') }),
    });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
    });
    run = await env.client.workflow.start('openGateFixture', { taskQueue, workflowId: uniqueId('signer-run'), args: [{ gate: gate('destroy-ct') }] });
    stops.push(() => run.signal(finishSignal).catch(() => undefined));
    signer = await startSigner({ client: env.client, namespace: 'default', keyFile: path.join(dir, 'alice.pub'), origins: [UI], port: 0, log: (l) => void logged.push(l) });
    stops.push(() => signer.close());
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.error('cleanup:', e));
  });

  it('listens on loopback and signs the open gate\'s decision: the signature verifies with ssh-keygen -Y verify', async () => {
    assert.match(signer.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await encode([jsonPayload({ ...decision(), comment: 'plan reviewed' })]);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('access-control-allow-origin'), UI);
    const [out] = ((await res.json()) as { payloads: JsonPayload[] }).payloads;
    assert.equal(Buffer.from(out!.metadata.encoding!, 'base64').toString(), 'json/plain');
    const signed = dataOf(out!);
    assert.deepEqual({ ...signed, signature: undefined }, { ...decision(), comment: 'plan reviewed', signature: undefined });
    const text = decisionText({ namespace: 'default', workflowId: run.workflowId, runId: run.firstExecutionRunId, step: 'destroy-ct', decision: 'approve', digest: DIGEST });
    assert.ok(verifies(text, String(signed.signature)), 'a good signature by alice over decisionText()');
    assert.match(logged.at(-1) ?? '', /^signed approve of destroy-ct on signer-run-/);
    // bound to its fields: the same signature does not verify for a reject, another step or digest
    assert.ok(!verifies(text.replace('"approve"', '"reject"'), String(signed.signature)));
    assert.ok(!verifies(text.replace(DIGEST, 'cd'.repeat(32)), String(signed.signature)));

    // what the UI then sends (the signed payload as the signal's input) reaches the run as it is
    await run.signal(approveSignal, signed);
    const received = await run.query(receivedQuery);
    assert.deepEqual(received.at(-1), signed);
  });

  it('a reject of the same gate is signed too; the open gate decides which decisions are possible', async () => {
    const res = await encode([jsonPayload(decision({ decision: 'reject' }))]);
    assert.equal(res.status, 200);
    assert.match(await refusal(await encode([jsonPayload(decision({ decision: 'done' }))])), /done is not a decision of the approval gate destroy-ct \(approve or reject\)/);
  });

  it('refuses anything but a decision of the gate open now, naming why; signs nothing', async () => {
    const cases: [unknown, RegExp][] = [
      [decision({ step: 'stop-ct' }), /the open gate of .* is destroy-ct, not stop-ct/],
      [decision({ digest: 'cd'.repeat(32) }), /digest (cd)+ is not the plan destroy-ct shows now/],
      [decision({ runId: '6f1c1b3e-0000-4000-8000-000000000000' }), /cannot ask run 6f1c1b3e/],
      [decision({ workflowId: 'no-such-run' }), /cannot ask run/],
      [decision({ namespace: 'other' }), /namespace other is not this signer's \(default\)/],
      [{ ...decision(), by: 'alice' }, /unexpected field "by"/],
      [{ ...decision(), signature: 'x' }, /already signed/],
      [{ node: 'k3s-vm-still-fawn', dryRun: false }, /unexpected field "node", "dryRun"/],
      [decision({ step: 7 }), /needs step/],
      ['approve', /one JSON object/],
    ];
    for (const [input, why] of cases) {
      const error = await refusal(await encode([jsonPayload(input)]));
      assert.match(error, why, JSON.stringify(input));
      assert.match(error, /^refused: /);
      assert.equal(logged.at(-1), error, 'the operator sees why on the signer\'s console (the UI says only "Data encoding failed")');
    }
    // one bad payload in a batch refuses the whole request: nothing signed comes back
    const mixed = await encode([jsonPayload(decision()), jsonPayload(decision({ step: 'stop-ct' }))]);
    assert.equal(mixed.status, 400);
    assert.ok(!(await mixed.text()).includes('SSH SIGNATURE'));
    // a payload that is not JSON (binary, or already encrypted) is not a decision
    assert.match(await refusal(await encode([{ metadata: { encoding: Buffer.from('binary/plain').toString('base64') }, data: 'AAAA' }])), /payload encoding binary\/plain/);
    assert.match(await refusal(await encode([jsonPayload('x'.repeat(9000))])), /is not a decision \(at most 8192\)/);
  });

  it('follows the gate: once it moves on, the old step is refused and the new one signed; a manual gate signs done with digest "none"', async () => {
    await moveGate(gate('enable-vtd', 'manual', null));
    assert.match(await refusal(await encode([jsonPayload(decision())])), /is enable-vtd, not destroy-ct/);
    assert.match(await refusal(await encode([jsonPayload(decision({ step: 'enable-vtd', decision: 'done' }))])), /digest ab.* is not the plan enable-vtd shows now \(none\)/);
    const res = await encode([jsonPayload(decision({ step: 'enable-vtd', decision: 'done', digest: 'none' }))]);
    assert.equal(res.status, 200);
    const signed = dataOf(((await res.json()) as { payloads: JsonPayload[] }).payloads[0]!);
    const text = decisionText({ namespace: 'default', workflowId: run.workflowId, runId: run.firstExecutionRunId, step: 'enable-vtd', decision: 'done', digest: 'none' });
    assert.ok(verifies(text, String(signed.signature)));
    await moveGate(null);
    assert.match(await refusal(await encode([jsonPayload(decision({ step: 'enable-vtd', decision: 'done', digest: 'none' }))])), /has no open gate/);
    await moveGate(gate('destroy-ct'));
  });

  it('only the Web UI\'s origin may have a decision signed: another page or a request without Origin gets 403, no CORS grant', async () => {
    for (const origin of ['http://evil.example', null]) {
      const res = await encode([jsonPayload(decision())], origin);
      assert.equal(res.status, 403, String(origin));
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      assert.ok(!(await res.text()).includes('SSH SIGNATURE'));
    }
    const pre = await fetch(`${signer.url}/encode`, { method: 'OPTIONS', headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), UI);
  });

  it('/decode passes payloads through for the UI to show; with a codec key the signed decision leaves encrypted', async () => {
    const shown = jsonPayload({ node: 'k3s-vm-still-fawn' });
    const dec = await fetch(`${signer.url}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', origin: UI }, body: JSON.stringify({ payloads: [shown] }) });
    assert.equal(dec.status, 200);
    assert.deepEqual(((await dec.json()) as { payloads: JsonPayload[] }).payloads, [shown]);

    const codec = new AesGcmCodec(randomBytes(32));
    const encrypting = await startSigner({ client: env.client, namespace: 'default', keyFile: path.join(dir, 'alice.pub'), codec, origins: [UI], port: 0 });
    try {
      const res = await encode([jsonPayload(decision())], UI, encrypting.url);
      assert.equal(res.status, 200);
      const [out] = ((await res.json()) as { payloads: JsonPayload[] }).payloads;
      assert.equal(Buffer.from(out!.metadata.encoding!, 'base64').toString(), ENCRYPTED_ENCODING);
      assert.ok(!Buffer.from(out!.data, 'base64').toString('latin1').includes('destroy-ct'));
      // its /decode is the codec server's: the UI reads the decision back, signature included
      const back = await fetch(`${encrypting.url}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', origin: UI }, body: JSON.stringify({ payloads: [out] }) });
      const signed = dataOf(((await back.json()) as { payloads: JsonPayload[] }).payloads[0]!);
      assert.equal(signed.step, 'destroy-ct');
      assert.match(String(signed.signature), /^-----BEGIN SSH SIGNATURE-----/);
    } finally {
      await encrypting.close();
    }
  });
});
