// Issue 5 item 6, secrets: after an end-to-end file, every run's full history (payloads decoded) and
// everything the worker logged are searched for the lab's join token and private key material.
// test/helpers/stack.ts runs scanForSecrets in stop() and fails the file on any hit.
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { DefaultLogger, type LogEntry, type Logger } from '@temporalio/worker';
import type { Lab } from '../../lab/src';
import { ENCRYPTED_ENCODING } from '../../src/shared/codec';
import { historyText } from './temporal';

export interface Secret {
  name: string;
  value: string;
}

// ---- the worker's logs: every entry recorded in memory, WARN and above printed as before ----

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
const workerLogLines: string[] = [];

let printLevel = 'WARN';
const printer = new DefaultLogger('TRACE');

/** The Runtime logger of the test process: records DEBUG and up, prints `level` and up to stderr. */
export function recordingLogger(level = 'WARN'): Logger {
  printLevel = level;
  return new DefaultLogger('DEBUG', (entry: LogEntry) => {
    workerLogLines.push(`${entry.level} ${entry.message}${entry.meta ? ` ${inspect(entry.meta, { depth: 6, breakLength: Infinity })}` : ''}`);
    if (LEVELS.indexOf(entry.level) >= LEVELS.indexOf(printLevel)) printer.log(entry.level, entry.message, entry.meta);
  });
}

/** Print less (or more) from now on; everything is still recorded. */
export function setPrintLevel(level: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'): void {
  printLevel = level;
}

/** Everything the worker(s) of this process logged so far. */
export function workerLogs(): string[] {
  return workerLogLines;
}

// ---- what counts as a secret in the lab ----

/** Base64 lines of a PEM/OpenSSH private key file, and its header. */
function keyMaterial(file: string, name: string): Secret[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const body = text.split('\n').filter((l) => l && !l.startsWith('-----'));
  return [
    ...body.filter((l) => l.length >= 24).map((l, i) => ({ name: `${name} (line ${i + 1})`, value: l })),
    { name: `${name} (whole body)`, value: body.join('') },
  ];
}

/** The lab's join token (and its password part) and every private key it made. Read while the lab runs. */
export function labSecrets(lab: Lab): Secret[] {
  const token = lab.token;
  const secrets: Secret[] = [
    { name: 'join token', value: token },
    { name: 'join token password', value: token.split('::server:')[1] ?? token },
    { name: 'OpenSSH private key header', value: '-----BEGIN OPENSSH PRIVATE KEY-----' },
    { name: 'PEM private key header', value: 'PRIVATE KEY-----' },
    ...keyMaterial(lab.clientKeyPath, 'client ssh key'),
  ];
  const pbsPassword = lab.pbs.password();
  if (pbsPassword) secrets.push({ name: 'PBS storage password', value: pbsPassword });
  const hostsDir = path.join(lab.dir, 'hosts');
  for (const host of fs.existsSync(hostsDir) ? fs.readdirSync(hostsDir) : []) {
    secrets.push(...keyMaterial(path.join(hostsDir, host, 'ssh_host_ed25519_key'), `host key of ${host}`));
  }
  const pki = path.join(lab.dir, 'pki');
  for (const f of fs.existsSync(pki) ? fs.readdirSync(pki).filter((n) => n.endsWith('.key')) : []) {
    secrets.push(...keyMaterial(path.join(pki, f), `TLS key ${f}`));
  }
  return secrets.filter((s) => s.value.length >= 16);
}

// ---- histories ----

function isPayload(v: unknown): v is Payload {
  return typeof v === 'object' && v !== null && 'metadata' in v && 'data' in v && (v as Payload).data instanceof Uint8Array;
}

/** A copy of the history with every encrypted payload decoded by `codec` (so encryption cannot hide a leak). */
export async function decodeHistory(history: unknown, codec?: PayloadCodec): Promise<unknown> {
  if (!codec) return history;
  const walk = async (v: unknown): Promise<unknown> => {
    if (isPayload(v) && Buffer.from(v.metadata?.encoding ?? []).toString() === ENCRYPTED_ENCODING) {
      return (await codec.decode([v]))[0];
    }
    if (v instanceof Uint8Array || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return Promise.all(v.map(walk));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await walk(x);
    return out;
  };
  return walk(history);
}

/** Where each secret occurs in `text` (by name; the value itself is never repeated). */
export function findSecrets(text: string, secrets: readonly Secret[], where: string): string[] {
  return secrets.filter((s) => text.includes(s.value)).map((s) => `${s.name} in ${where}`);
}

export interface ScanResult {
  runs: number;
  events: number;
  logLines: number;
  hits: string[];
}

/**
 * Lists every workflow on the server (`query` narrows it), fetches each full history, decodes its
 * payloads and searches them, and the worker's logs, for every secret.
 */
export async function scanForSecrets(opts: { client: Client; secrets: readonly Secret[]; codec?: PayloadCodec; query?: string; logs?: readonly string[] }): Promise<ScanResult> {
  const result: ScanResult = { runs: 0, events: 0, logLines: 0, hits: [] };
  for await (const wf of opts.client.workflow.list(opts.query ? { query: opts.query } : undefined)) {
    const history = await opts.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    result.runs++;
    result.events += history.events?.length ?? 0;
    const text = historyText(await decodeHistory(history, opts.codec));
    result.hits.push(...findSecrets(text, opts.secrets, `the history of ${wf.workflowId} (${wf.type})`));
  }
  const logs = opts.logs ?? workerLogs();
  result.logLines = logs.length;
  result.hits.push(...findSecrets(logs.join('\n'), opts.secrets, 'the worker logs'));
  return result;
}
