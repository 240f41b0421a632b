// Phase 3's recordings at wire speed: a tar stream out of the CT through one SSH channel, into the node
// VM's own sshd through another; the worker only pipes bytes. A file is put in place only once its
// sha256 on the node equals its sha256 in the CT, so a crash re-sends at most the batch in flight.
import type { FrigateInventory } from '../../inventory/frigate';
import { pipeInto } from '../exec/pipe';
import { describeTarget } from '../exec/targets';
import type { Executor, StreamingCommand, Target } from '../exec/types';
import * as cmd from './commands';

export interface CopyFile {
  path: string;
  size: number;
}

export interface StreamCopyContext {
  exec: Executor;
  f: FrigateInventory;
  ct: Target;
  node: Target;
  signal?: AbortSignal;
  /** Bytes that came out of the CT so far in this batch (for the heartbeat). */
  onBytes?: (n: number) => void;
  /** No byte from the CT for this long: both channels are closed and the batch fails (retryable). Default 60 s. */
  stallMs?: number;
}

/** Files in batches of about `batchBytes` (a file larger than that is a batch of its own). */
export function batches(files: CopyFile[], batchBytes: number): CopyFile[][] {
  const out: CopyFile[][] = [];
  let cur: CopyFile[] = [];
  let bytes = 0;
  for (const file of files) {
    if (cur.length && bytes + file.size > batchBytes) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(file);
    bytes += file.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Checksum lines → path → sha256: coreutils `sha256sum` (src/digest.c `output_file`: `<hex>  <path>`,
 * `<hex> *<path>` in binary mode) and `openssl dgst -sha256 -r` (apps/dgst.c `print_out`, the coreutils
 * format: `<hex> *<path>`). Paths are checked recording paths, so neither escapes them.
 */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m) sums.set(m[2]!, m[1]!);
  }
  return sums;
}

export interface StreamedBatch {
  index: number;
  /** Files whose sha256 on the node equals their sha256 in the CT, with that sum; the others differ. */
  verified: Array<CopyFile & { sha256: string }>;
  differ: CopyFile[];
  bytes: number;
}

/**
 * One batch streamed into its own staging dir on the node and checked at both ends; nothing is in
 * place yet (acceptBatch). `onSent` is called once the CT's side is done. Throws (retryable) when a side failed.
 */
export async function streamBatch(ctx: StreamCopyContext, files: CopyFile[], index: number, onSent?: () => void): Promise<StreamedBatch> {
  if (!ctx.exec.stream) throw new Error('this executor cannot stream');
  const paths = files.map((x) => x.path);
  const src = await ctx.exec.stream(ctx.ct, cmd.tarOutWithSums(ctx.f, paths), { signal: ctx.signal });
  src.stdin.end(); // tar in the CT reads nothing
  let dst: StreamingCommand;
  try {
    dst = await ctx.exec.stream(ctx.node, cmd.untarToStaging(ctx.f, paths, index), { signal: ctx.signal });
  } catch (e) {
    src.close();
    throw e;
  }
  let bytes = 0;
  const nodeOut: Buffer[] = [];
  dst.stdout.on('data', (d: Buffer) => nodeOut.push(d));
  // a stalled stream (a dead link, a hung disk) must end the attempt, not hold it forever
  let stalled = false;
  let lastByte = Date.now();
  src.stdout.on('data', (d: Buffer) => {
    bytes += d.length;
    lastByte = Date.now();
    ctx.onBytes?.(d.length);
  });
  const stallMs = ctx.stallMs ?? 60_000;
  const watchdog = setInterval(() => {
    if (Date.now() - lastByte < stallMs) return;
    stalled = true;
    src.close();
    dst.close();
  }, Math.min(5_000, stallMs));
  void Promise.allSettled([src.done, dst.done]).then(() => clearInterval(watchdog));
  pipeInto(src, dst); // the node's tar stops before the CT's padding: the rest is read and dropped
  // the CT has sent everything: the next batch may start while the node unpacks and sums this one
  void src.done.then(() => onSent?.(), () => undefined);
  const from = describeTarget(ctx.ct);
  const to = describeTarget(ctx.node);
  const stall = () => new Error(`the copy from ${from} to ${to} stalled: no data for ${Math.round(stallMs / 1000)} s; both channels closed`);
  // one side failing must not leave the other waiting on a stream that never moves again
  const [s, d] = await Promise.all([
    src.done.catch((e: unknown) => (dst.close(), Promise.reject(e))),
    dst.done.catch((e: unknown) => (src.close(), Promise.reject(e))),
  ]).catch((e: unknown) => Promise.reject(stalled ? stall() : e));
  if (stalled) throw stall();
  const otherLines = (t: string) => t.split('\n').filter((l) => l && !/^[0-9a-f]{64} /.test(l)).join('; ');
  if (s.exitCode !== 0) throw new Error(`tar in ${from} exited ${s.exitCode ?? s.signal}${s.exitCode === 97 ? ' (the checksum failed)' : ''}: ${otherLines(s.stderr).slice(0, 400)}`);
  if (d.exitCode !== 0) throw new Error(`tar on ${to} exited ${d.exitCode ?? d.signal}: ${d.stderr.trim().slice(0, 400)}`);
  const atSource = parseSums(s.stderr);
  const atNode = parseSums(Buffer.concat(nodeOut).toString('utf8'));
  const verified: StreamedBatch['verified'] = [];
  const differ: CopyFile[] = [];
  for (const x of files) {
    const sum = atSource.get(x.path);
    if (sum !== undefined && sum === atNode.get(x.path)) verified.push({ ...x, sha256: sum });
    else differ.push(x);
  }
  return { index, verified, differ, bytes };
}

/**
 * The checked files of a batch renamed into place and listed as verified; then, if any file of it
 * differed, a retryable error (they stay out, and the next attempt sends them again).
 */
export async function acceptBatch(ctx: StreamCopyContext, batch: StreamedBatch): Promise<void> {
  const to = describeTarget(ctx.node);
  if (batch.verified.length) {
    const res = await ctx.exec.run(ctx.node, cmd.acceptStaged(ctx.f, batch.verified.map((x) => x.path), batch.index), { stdin: batch.verified.map((x) => `${x.sha256}  ${x.path}\n`).join(''), signal: ctx.signal });
    if (res.exitCode !== 0) throw new Error(`on ${to}: moving the checked recordings into place failed: ${res.stderr.trim().slice(0, 400)}`);
  }
  if (batch.differ.length) {
    const n = batch.differ.length + batch.verified.length;
    throw new Error(`${batch.differ.length} of ${n} recordings arrived on ${to} with a sha256 other than in ${describeTarget(ctx.ct)} (e.g. ${batch.differ[0]!.path}): they are sent again on the next attempt`);
  }
}
