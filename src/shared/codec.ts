// Optional payload encryption: AES-256-GCM over each whole serialised Payload, so the Temporal server
// (and anyone reading its database or history exports) sees only ciphertext. Off unless a key is set:
//   RUNBOOK_CODEC_KEY_FILE=/path/to/key   (32 raw bytes, or their base64 on one line)
//   RUNBOOK_CODEC_KEY=<base64 of 32 bytes>
// Generate one with `openssl rand -base64 32`. The worker, the CLI and the codec server (for the Web
// UI, src/shared/codec-server.ts) must use the same key. Search attributes are never encrypted.
// Failure messages and stack traces are payloads too (src/shared/failure-converter.ts), so they are
// encrypted with the rest. With a key configured, decode refuses a payload that is not encrypted:
// plaintext input can only come from a client without the key, and the worker acts on nothing it sent.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : '');

/** A short, non-secret name for a key: the first 16 hex digits of its SHA-256. */
export function keyIdOf(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export class AesGcmCodec implements PayloadCodec {
  readonly keyId: string;
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new Error(`payload codec key must be 32 bytes (AES-256), got ${key.length}`);
    this.key = Buffer.from(key);
    this.keyId = keyIdOf(this.key);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.key, iv);
      cipher.setAAD(Buffer.from(this.keyId));
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(this.keyId) }, data };
    });
  }

  /** Refuses a payload it did not encrypt (plaintext from a client without the key). */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const encoding = text(p.metadata?.encoding);
      if (encoding !== ENCRYPTED_ENCODING) {
        throw new Error(`payload is not encrypted (${encoding ? `encoding ${encoding}` : 'no encoding'}): with codec key ${this.keyId} configured, only payloads encrypted with it are accepted; send it from a client or codec endpoint that has the key`);
      }
      const keyId = text(p.metadata?.[KEY_ID_METADATA]);
      if (keyId !== this.keyId) {
        throw new Error(`payload was encrypted with key ${keyId || '(none)'}, but this codec has key ${this.keyId}`);
      }
      const data = Buffer.from(p.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted payload is too short');
      const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(this.keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new Error(`encrypted payload failed authentication (key ${this.keyId}): tampered or corrupt`);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** A key file holds 32 raw bytes or their base64; the variable only base64 (whitespace around it ignored). */
export function parseKey(raw: Buffer | string, source: string): Buffer {
  const buf = typeof raw === 'string' ? Buffer.from(raw) : raw;
  if (typeof raw !== 'string' && buf.length === 32) return buf;
  const b64 = buf.toString('utf8').trim();
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) {
    throw new Error(`${source}: expected 32 bytes or their base64 (e.g. \`openssl rand -base64 32\`), got ${buf.length} bytes that are neither`);
  }
  return key;
}

/** The codec configured in the environment, or undefined when none is (the default: payloads in clear). */
export function codecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmCodec | undefined {
  const file = env.RUNBOOK_CODEC_KEY_FILE;
  const inline = env.RUNBOOK_CODEC_KEY;
  if (file && inline) throw new Error('set only one of RUNBOOK_CODEC_KEY_FILE and RUNBOOK_CODEC_KEY');
  if (file) {
    let raw: Buffer;
    try {
      raw = readFileSync(file);
    } catch (err) {
      throw new Error(`RUNBOOK_CODEC_KEY_FILE ${file}: ${(err as Error).message}`);
    }
    return new AesGcmCodec(parseKey(raw, `RUNBOOK_CODEC_KEY_FILE ${file}`));
  }
  if (inline) return new AesGcmCodec(parseKey(inline, 'RUNBOOK_CODEC_KEY'));
  return undefined;
}

/** Whether a payload is one this kind of codec encrypted (the rest are never decrypted). */
export function isEncrypted(p: Payload): boolean {
  return text(p.metadata?.encoding) === ENCRYPTED_ENCODING;
}

/** The failure converter module (DataConverter.failureConverterPath; bundleWorkflowCode's too). */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * `dataConverter` options for a Worker or Client: failure messages as payloads always, and the codec
 * when one is configured (then those are encrypted too).
 */
export function codecDataConverter(codec: PayloadCodec | undefined): { dataConverter: { payloadCodecs: PayloadCodec[]; failureConverterPath: string } } {
  return { dataConverter: { payloadCodecs: codec ? [codec] : [], failureConverterPath: FAILURE_CONVERTER_PATH } };
}
