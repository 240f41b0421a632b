// The optional payload codec (AES-256-GCM) and its HTTP endpoint for the Web UI.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { decodeOptionalFailureToOptionalError, encodeErrorToFailure, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { AesGcmCodec, codecDataConverter, codecFromEnv, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../src/shared/codec';
import { startCodecServer, type CodecServer } from '../../src/shared/codec-server';

const text = (b?: Uint8Array | null) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const b64 = (b?: Uint8Array | null) => Buffer.from(b ?? new Uint8Array()).toString('base64');

const payloadArb = fc.record({
  metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.uint8Array({ maxLength: 40 }), { maxKeys: 4 }),
  data: fc.uint8Array({ maxLength: 300 }),
});

describe('AES-GCM payload codec', () => {
  const key = randomBytes(32);
  const codec = new AesGcmCodec(key);

  it('round-trips any payload; the ciphertext names the key, hides the data and differs every time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(payloadArb, { maxLength: 4 }), async (payloads) => {
        const enc = await codec.encode(payloads);
        assert.equal(enc.length, payloads.length);
        for (const e of enc) {
          assert.equal(text(e.metadata?.encoding), ENCRYPTED_ENCODING);
          assert.equal(text(e.metadata?.[KEY_ID_METADATA]), codec.keyId);
          assert.deepEqual(Object.keys(e.metadata ?? {}).sort(), ['encoding', KEY_ID_METADATA].sort());
        }
        const dec = await codec.decode(enc);
        assert.deepEqual(
          dec.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])), data: b64(p.data) })),
          payloads.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, b64(v)])), data: b64(p.data) })),
        );
      }),
      { numRuns: 300 },
    );
    const p = defaultPayloadConverter.toPayload({ node: 'k3s-vm-still-fawn' });
    const [a] = await codec.encode([p]);
    const [b] = await codec.encode([p]);
    assert.ok(!text(a!.data).includes('still-fawn'));
    assert.notEqual(b64(a!.data), b64(b!.data), 'a fresh IV per payload');
  });

  it('refuses tampered data and another key, naming both key ids; refuses plaintext', async () => {
    const p = defaultPayloadConverter.toPayload('hello');
    const [e] = await codec.encode([p]);
    const flipped: Payload = { ...e!, data: Buffer.from(e!.data!).map((x, i) => (i === 20 ? x ^ 1 : x)) };
    await assert.rejects(codec.decode([flipped]), /failed authentication/);
    const other = new AesGcmCodec(randomBytes(32));
    await assert.rejects(other.decode([e!]), (err: Error) => err.message.includes(codec.keyId) && err.message.includes(other.keyId));
    // the key id is authenticated too: relabelling a payload does not get it past the check
    const relabelled: Payload = { ...e!, metadata: { ...e!.metadata, [KEY_ID_METADATA]: Buffer.from(other.keyId) } };
    await assert.rejects(other.decode([relabelled]), /failed authentication/);
    // a payload from a client without the key is refused: with a key configured, only key holders send input
    await assert.rejects(codec.decode([p]), (err: Error) => /not encrypted/.test(err.message) && err.message.includes('json/plain') && err.message.includes(codec.keyId));
    await assert.rejects(codec.decode([{ data: Buffer.from('x') }]), /not encrypted \(no encoding\)/);
    assert.throws(() => new AesGcmCodec(randomBytes(16)), /32 bytes/);
  });

  it('encodes failure messages and stack traces too: error text naming hosts and paths is ciphertext', async () => {
    const converter = loadDataConverter(codecDataConverter(codec).dataConverter);
    const err = ApplicationFailure.nonRetryable('pct destroy 108 on still-fawn failed: /var/lib/vz/images/108 busy', 'CommandFailed');
    const failure = await encodeErrorToFailure(converter, err);
    const raw = JSON.stringify(failure);
    assert.ok(!raw.includes('still-fawn') && !raw.includes('/var/lib/vz'), `the failure in history hides the message: ${raw.slice(0, 200)}`);
    assert.equal(text(failure.encodedAttributes?.metadata?.encoding), ENCRYPTED_ENCODING);
    // read back with the key: the same message, type and non-retryable flag
    const back = await decodeOptionalFailureToOptionalError(converter, failure);
    assert.ok(back instanceof ApplicationFailure);
    assert.equal(back.message, err.message);
    assert.equal(back.type, 'CommandFailed');
    assert.equal(back.nonRetryable, true);
  });

  it('takes its key from a file (raw or base64) or RUNBOOK_CODEC_KEY, and is off by default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'codec-'));
    writeFileSync(join(dir, 'raw'), key);
    writeFileSync(join(dir, 'b64'), `${key.toString('base64')}\n`);
    writeFileSync(join(dir, 'short'), 'c2hvcnQ=\n');
    assert.equal(codecFromEnv({}), undefined);
    assert.equal(codecFromEnv({ RUNBOOK_CODEC_KEY_FILE: join(dir, 'raw') })?.keyId, codec.keyId);
    assert.equal(codecFromEnv({ RUNBOOK_CODEC_KEY_FILE: join(dir, 'b64') })?.keyId, codec.keyId);
    assert.equal(codecFromEnv({ RUNBOOK_CODEC_KEY: key.toString('base64') })?.keyId, codec.keyId);
    assert.throws(() => codecFromEnv({ RUNBOOK_CODEC_KEY_FILE: join(dir, 'short') }), /expected 32 bytes/);
    assert.throws(() => codecFromEnv({ RUNBOOK_CODEC_KEY_FILE: join(dir, 'missing') }), /RUNBOOK_CODEC_KEY_FILE .*missing/);
    assert.throws(() => codecFromEnv({ RUNBOOK_CODEC_KEY: 'x'.repeat(32) }), /RUNBOOK_CODEC_KEY: expected/);
    assert.throws(() => codecFromEnv({ RUNBOOK_CODEC_KEY: key.toString('base64'), RUNBOOK_CODEC_KEY_FILE: join(dir, 'raw') }), /only one/);
    // a bad key is reported without echoing it
    const bad = randomBytes(24).toString('base64');
    assert.throws(() => codecFromEnv({ RUNBOOK_CODEC_KEY: bad }), (err: Error) => !err.message.includes(bad));
  });
});

describe('codec server for the Web UI', () => {
  const codec = new AesGcmCodec(randomBytes(32));
  const UI = 'http://127.0.0.1:8233';
  let srv: CodecServer;
  before(async () => {
    srv = await startCodecServer({ codec, port: 0, origins: [UI] });
  });
  after(async () => {
    await srv?.close();
  });
  const post = (path: string, body: unknown, origin = UI) =>
    fetch(`${srv.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('/encode then /decode round-trips the UI\'s JSON payloads; /decode reads what the worker encrypted', async () => {
    const plain = defaultPayloadConverter.toPayload({ node: 'k3s-vm-still-fawn', by: 'alice' });
    const json = { payloads: [{ metadata: { encoding: b64(plain.metadata!.encoding) }, data: b64(plain.data) }] };
    const enc = await post('/encode', json);
    assert.equal(enc.status, 200);
    assert.equal(enc.headers.get('access-control-allow-origin'), UI);
    const encoded = (await enc.json()) as typeof json;
    assert.equal(Buffer.from(encoded.payloads[0]!.metadata.encoding, 'base64').toString(), ENCRYPTED_ENCODING);
    assert.ok(!Buffer.from(encoded.payloads[0]!.data, 'base64').toString().includes('still-fawn'));
    const dec = await post('/decode', encoded);
    assert.deepEqual(await dec.json(), json);

    const [fromWorker] = await codec.encode([plain]);
    const viaHttp = (await (await post('/decode', { payloads: [{ metadata: { encoding: b64(fromWorker!.metadata!.encoding), [KEY_ID_METADATA]: b64(fromWorker!.metadata![KEY_ID_METADATA]) }, data: b64(fromWorker!.data) }] })).json()) as typeof json;
    assert.deepEqual(JSON.parse(Buffer.from(viaHttp.payloads[0]!.data, 'base64').toString()), { node: 'k3s-vm-still-fawn', by: 'alice' });
  });

  it('/decode shows plaintext payloads as they are (the UI sends search attributes and headers too); /encode always encrypts', async () => {
    // temporalio/ui v2.42.1 src/lib/utilities/decode-payload.ts cloneAllPotentialPayloadsWithCodec:
    // every {metadata, data} object of an event goes to /decode, search attributes included
    const attr = defaultPayloadConverter.toPayload('k3s-rejoin');
    const [enc] = await codec.encode([defaultPayloadConverter.toPayload({ node: 'x' })]);
    const asJson = (p: Payload) => ({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])), data: b64(p.data) });
    const res = await post('/decode', { payloads: [asJson(attr), asJson(enc!)] });
    assert.equal(res.status, 200);
    const out = (await res.json()) as { payloads: { data: string }[] };
    assert.deepEqual(out.payloads.map((p) => JSON.parse(Buffer.from(p.data, 'base64').toString())), ['k3s-rejoin', { node: 'x' }]);
  });

  it('answers the browser\'s preflight for the UI origin only; refuses malformed bodies and other paths', async () => {
    const pre = await fetch(`${srv.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), UI);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /x-namespace, content-type/);
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    const foreign = await post('/decode', { payloads: [] }, 'http://evil.example');
    assert.equal(foreign.headers.get('access-control-allow-origin'), null, 'no CORS grant to another origin');
    assert.equal((await post('/decode', 'not json')).status, 400);
    assert.equal((await post('/decode', { payloads: 'x' })).status, 400);
    assert.equal((await post('/decode', { payloads: [{ metadata: { encoding: b64(Buffer.from(ENCRYPTED_ENCODING)), [KEY_ID_METADATA]: b64(Buffer.from(codec.keyId)) }, data: 'AAAA' }] })).status, 400);
    assert.equal((await fetch(`${srv.url}/decode`)).status, 404);
    assert.equal((await post('/other', { payloads: [] })).status, 404);
  });
});
