// A recorded history with every payload encrypted as a worker with the codec writes them, for tests of
// reading a codec-encrypted run (search attributes are never encoded: the server indexes them).
import type { AesGcmCodec } from '../../src/shared/codec';

/** Encrypts every payload under `node` in place (search attributes left as they are). */
export async function encryptPayloads(node: unknown, codec: AesGcmCodec): Promise<void> {
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === 'searchAttributes') continue;
    if (k === 'payloads' && Array.isArray(v)) (node as Record<string, unknown>)[k] = await codec.encode(v);
    else if (k === 'encodedAttributes' && v) (node as Record<string, unknown>)[k] = (await codec.encode([v as never]))[0];
    else await encryptPayloads(v, codec);
  }
}
