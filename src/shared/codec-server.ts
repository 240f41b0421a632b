// The codec endpoint the Temporal Web UI calls to show (and, for Start Workflow, encrypt) payloads:
//   RUNBOOK_CODEC_KEY_FILE=key npm run codec-server          # http://127.0.0.1:8888
//   temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8888
// POST /decode and /encode take and return {"payloads": [{"metadata": {"k": "<b64>"}, "data": "<b64>"}]}.
// The browser calls it directly, so it answers CORS for the UI's origin only. It decrypts whatever it
// is sent: keep it on loopback (the default) or behind the same access control as the UI.
// /decode returns a plaintext payload as it is: the UI sends every {metadata, data} of an event,
// search attributes and headers (never encrypted) included, and only shows what it gets back
// (temporalio/ui src/lib/utilities/decode-payload.ts, cloneAllPotentialPayloadsWithCodec). The
// worker's own codec refuses plaintext; this display path cannot make anything run.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { codecFromEnv, isEncrypted } from './codec';

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

const MAX_BODY = 16 * 1024 * 1024;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8888; 0 picks a free port. */
  port?: number;
  /** Origins allowed to call it from a browser (the Web UI's), e.g. http://localhost:8233. */
  origins: string[];
  /** Refuse a POST that does not come from one of `origins` (no drive-by page, no DNS rebinding). */
  requireOrigin?: boolean;
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

function fromJson(p: JsonPayload): Payload {
  if (typeof p !== 'object' || p === null) throw new Error('each payload must be an object');
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (typeof v !== 'string') throw new Error(`metadata "${k}" must be a base64 string`);
    metadata[k] = Buffer.from(v, 'base64');
  }
  if (p.data != null && typeof p.data !== 'string') throw new Error('data must be a base64 string');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v ?? new Uint8Array()).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

/** Decrypts the encrypted payloads, in place; the rest (search attributes, headers) as they are. */
async function decodeForDisplay(codec: PayloadCodec, payloads: Payload[]): Promise<Payload[]> {
  return Promise.all(payloads.map(async (p) => (isEncrypted(p) ? (await codec.decode([p]))[0]! : p)));
}

export function codecRequestHandler(opts: Pick<CodecServerOptions, 'codec' | 'origins' | 'requireOrigin'>): http.RequestListener {
  return (req, res) => {
    const origin = req.headers.origin;
    if (origin && opts.origins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'x-namespace, content-type');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'OPTIONS') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method !== 'POST' || (path !== '/encode' && path !== '/decode')) {
      send(404, { error: 'POST /encode or /decode' });
      return;
    }
    if (opts.requireOrigin && !(origin && opts.origins.includes(origin))) {
      send(403, { error: `only the Web UI at ${opts.origins.join(', ')} may call this endpoint` });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        send(413, { error: `body over ${MAX_BODY} bytes` });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let payloads: Payload[];
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: unknown };
        if (!Array.isArray(body?.payloads)) throw new Error('expected {"payloads": [...]}');
        payloads = (body.payloads as JsonPayload[]).map(fromJson);
      } catch (err) {
        send(400, { error: (err as Error).message });
        return;
      }
      const work = path === '/encode' ? opts.codec.encode(payloads) : decodeForDisplay(opts.codec, payloads);
      work.then(
        (out) => send(200, { payloads: out.map(toJson) }),
        (err: unknown) => send(400, { error: (err as Error).message }),
      );
    });
  };
}

export async function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  const server = http.createServer(codecRequestHandler(opts));
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8888, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function main(): Promise<void> {
  const codec = codecFromEnv();
  if (!codec) throw new Error('no key: set RUNBOOK_CODEC_KEY_FILE (or RUNBOOK_CODEC_KEY, base64 of 32 bytes)');
  const origins = (process.env.RUNBOOK_CODEC_UI_ORIGINS ?? 'http://localhost:8233,http://127.0.0.1:8233').split(',').map((o) => o.trim()).filter(Boolean);
  const server = await startCodecServer({
    codec,
    host: process.env.RUNBOOK_CODEC_HOST ?? '127.0.0.1',
    port: Number(process.env.RUNBOOK_CODEC_PORT ?? 8888),
    origins,
  });
  console.log(`codec server: ${server.url} (key ${codec.keyId}), for the Web UI at ${origins.join(', ')}`);
  console.log(`  temporal server start-dev --ui-codec-endpoint ${server.url}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
