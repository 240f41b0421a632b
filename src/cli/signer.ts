// `runbook signer`: a codec endpoint on the operator's own machine that signs decisions the Web UI
// sends. The UI (v2.42.1, the one `temporal server start-dev` of CLI v1.5.1 serves) POSTs a signal's
// input to `<codec endpoint>/encode` before sending it (temporalio/ui src/lib/services/workflow-service.ts
// signalWorkflow → src/lib/utilities/encode-payload.ts encodePayloads → src/lib/services/data-encoder.ts
// codeServerRequest), and the endpoint is a per-browser Data Encoder setting. So the operator pastes the
// unsigned decision JSON the gate's details show, and this endpoint adds the signature, made by
// `ssh-keygen -Y sign` with their own key (ssh-agent through a .pub, or a key file): it holds no key.
// It signs only a decision of the gate that is open right now on the run named (it asks the run's
// `status` query itself) and refuses anything else; with a codec key configured it then encrypts,
// and /decode decrypts, like src/shared/codec-server.ts.
import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { codecFromEnv } from '../shared/codec';
import { signText } from '../shared/ssh-sign';
import { startCodecServer, type CodecServer } from '../shared/codec-server';
import { decisionText, type DecisionKind, type SignedDecision } from '../workflows/runbook/decision';
import { statusQuery } from '../workflows/runbook/messages';
import { withClient } from './context';
import { requireSigningKey } from './signing';

/** The signal input the signer completes: the gate's JSON, plus `signature`. */
type DecisionInput = Omit<SignedDecision, 'signature'> & { signature?: string };

const REQUIRED = ['step', 'decision', 'workflowId', 'runId', 'namespace', 'digest'] as const;
const ALLOWED = new Set<string>([...REQUIRED, 'comment']);
/** A decision's JSON is a few hundred bytes; anything much larger is not one. */
const MAX_INPUT_BYTES = 8 * 1024;
const DECISIONS_AT: Record<'approval' | 'manual' | 'failed', DecisionKind[]> = { approval: ['approve', 'reject'], manual: ['done', 'abort'], failed: ['retry', 'abort'] };

export interface SignerOptions {
  /** Asks each run's `status` query (with the payload codec, when one is configured). */
  client: Client;
  /** The namespace the client talks to: a decision for another one is refused. */
  namespace: string;
  /** A private key file, or a .pub whose key is in ssh-agent. */
  keyFile: string;
  /** Encrypts what it signed (and decodes for the UI), when a codec key is configured. */
  codec?: PayloadCodec;
  origins: string[];
  host?: string;
  port?: number;
  /** Each signature made and each refusal, one line (the UI shows only "Data encoding failed"). */
  log?: (line: string) => void;
}

class Refused extends Error {}

function parseDecision(p: Payload): DecisionInput {
  const encoding = Buffer.from(p.metadata?.encoding ?? []).toString();
  if (encoding !== 'json/plain') throw new Refused(`refused: only a decision's JSON is signed (payload encoding ${encoding || 'none'})`);
  const data = Buffer.from(p.data ?? []);
  if (data.length > MAX_INPUT_BYTES) throw new Refused(`refused: ${data.length} bytes is not a decision (at most ${MAX_INPUT_BYTES})`);
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch {
    throw new Refused('refused: the input is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Refused('refused: a decision is one JSON object');
  const o = v as Record<string, unknown>;
  if ('signature' in o) throw new Refused('refused: the decision is already signed');
  const extra = Object.keys(o).filter((k) => !ALLOWED.has(k));
  if (extra.length) throw new Refused(`refused: not a decision (unexpected field ${extra.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')})`);
  const missing = REQUIRED.filter((k) => typeof o[k] !== 'string' || (o[k] as string).length === 0 || (o[k] as string).length > 256);
  if (missing.length) throw new Refused(`refused: not a decision (needs ${missing.join(', ')} as short strings)`);
  if (o.comment !== undefined && (typeof o.comment !== 'string' || o.comment.length > 1000)) throw new Refused('refused: comment must be a string of at most 1000 characters');
  return o as unknown as DecisionInput;
}

/** Why `d` is not a decision of the gate open on its run now, or undefined when it is. */
async function openGateMismatch(client: Client, namespace: string, d: DecisionInput): Promise<string | { attempt?: number }> {
  if (d.namespace !== namespace) return `namespace ${d.namespace} is not this signer's (${namespace})`;
  let status;
  try {
    status = await client.workflow.getHandle(d.workflowId, d.runId).query(statusQuery);
  } catch (err) {
    return `cannot ask run ${d.runId} of ${d.workflowId} for its status: ${(err as Error).message}`;
  }
  const gate = status.openGate;
  if (!gate) return `${d.workflowId} has no open gate`;
  if (gate.step !== d.step) return `the open gate of ${d.workflowId} is ${gate.step}, not ${d.step}`;
  if (!DECISIONS_AT[gate.kind].includes(d.decision)) return `${d.decision} is not a decision of the ${gate.kind} gate ${gate.step} (${DECISIONS_AT[gate.kind].join(' or ')})`;
  const digest = gate.digest ?? 'none';
  if (d.digest !== digest) return `digest ${d.digest} is not the plan ${gate.step} shows now (${digest})`;
  return { attempt: gate.attempt };
}

/** The codec the signer's endpoint runs: /encode signs (then encrypts), /decode only decrypts. */
export class DecisionSigningCodec implements PayloadCodec {
  constructor(private readonly opts: Pick<SignerOptions, 'client' | 'namespace' | 'keyFile' | 'codec' | 'log'>) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    try {
      const signed: Payload[] = [];
      for (const p of payloads) {
        const d = parseDecision(p);
        const gate = await openGateMismatch(this.opts.client, this.opts.namespace, d);
        if (typeof gate === 'string') throw new Refused(`refused: ${gate}`);
        // after a retry the gate's attempt is signed too (the decision's own field is never trusted)
        const text = decisionText({ namespace: d.namespace, workflowId: d.workflowId, runId: d.runId, step: d.step, decision: d.decision, digest: d.digest, attempt: gate.attempt });
        const signature = await signText(text, { keyFile: this.opts.keyFile });
        this.opts.log?.(`signed ${d.decision} of ${d.step} on ${d.workflowId} (run ${d.runId}, plan ${d.digest})`);
        signed.push({ metadata: p.metadata, data: Buffer.from(JSON.stringify({ ...d, signature })) });
      }
      return this.opts.codec ? await this.opts.codec.encode(signed) : signed;
    } catch (err) {
      this.opts.log?.((err as Error).message);
      throw err;
    }
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return this.opts.codec ? this.opts.codec.decode(payloads) : payloads;
  }
}

/** The signer's HTTP endpoint (default http://127.0.0.1:8889): POST /encode and /decode. */
export function startSigner(opts: SignerOptions): Promise<CodecServer> {
  // only the UI's origin: another page in the operator's browser cannot have a decision signed
  return startCodecServer({ codec: new DecisionSigningCodec(opts), origins: opts.origins, requireOrigin: true, host: opts.host ?? '127.0.0.1', port: opts.port ?? 8889 });
}

/** `runbook signer`: serve until SIGINT/SIGTERM; the Web UI's Data Encoder points at the URL printed. */
export async function runSigner(opts: { key?: string; port: number; origins: string[] }): Promise<void> {
  const key = requireSigningKey(opts.key);
  try {
    await withClient(async (client, _connection, namespace) => {
      const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
      const server = await startSigner({ client, namespace, keyFile: key.keyFile, codec: codecFromEnv(), origins: opts.origins, port: opts.port, log });
      console.log(`signer: ${server.url}, signing with ${key.source}, for decisions on namespace ${namespace}`);
      console.log(`  Web UI (${opts.origins.join(', ')}): Data Encoder → ${server.url}, then Send a Signal with the gate's JSON`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });
  } finally {
    key.dispose();
  }
}
