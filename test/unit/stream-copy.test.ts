// Phase 3's streamed copy, the parts without a lab: batching, the checksum lines of both tools, and
// the node-side commands (staging per batch, the first batch of an attempt empties all of it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { frigateSchema } from '../../src/inventory/frigate';
import { acceptStaged, untarToStaging } from '../../src/activities/frigate/commands';
import { batches, parseSums, streamBatch } from '../../src/activities/frigate/stream-copy';
import type { Executor, StreamingCommand } from '../../src/activities/exec/types';

const MiB = 1024 * 1024;

describe('streamed copy', () => {
  it('batches files by bytes; a file larger than a batch goes alone', () => {
    const files = [3, 3, 3, 10, 1].map((m, i) => ({ path: `recordings/${i}.mp4`, size: m * MiB }));
    assert.deepEqual(batches(files, 8 * MiB).map((b) => b.map((x) => x.path.slice(11, 12)).join('')), ['01', '2', '3', '4']);
    assert.deepEqual(batches([], 8 * MiB), []);
  });

  it('reads sha256sum and openssl dgst -r lines alike, and nothing else', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sums-'));
    try {
      fs.mkdirSync(path.join(dir, 'recordings/2026-12-07/10/driveway'), { recursive: true });
      const rel = 'recordings/2026-12-07/10/driveway/00.07.mp4';
      fs.writeFileSync(path.join(dir, rel), 'segment');
      const coreutils = execFileSync('sha256sum', [rel], { cwd: dir, encoding: 'utf8' });
      const openssl = execFileSync('openssl', ['dgst', '-sha256', '-r', rel], { cwd: dir, encoding: 'utf8' });
      const want = createHash('sha256').update('segment').digest('hex');
      const a = parseSums(`tar: something odd\n${coreutils}`);
      const b = parseSums(openssl);
      assert.equal(a.size, 1);
      assert.equal(a.get(rel), want);
      assert.equal(b.get(rel), want);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the first batch of an attempt empties all of staging, a later one only its own dir', () => {
    const f = frigateSchema.parse({ node: 'k3s-vm-still-fawn', lxc: { host: 'fun-bedbug', ctid: 113 } });
    assert.match(untarToStaging(f, ['recordings/a.mp4'], 0), /rm -rf \/var\/lib\/frigate\/media\/\.frigate-copy\/incoming && mkdir -p \/var\/lib\/frigate\/media\/\.frigate-copy\/incoming\/0 /);
    assert.match(untarToStaging(f, ['recordings/a.mp4'], 3), /rm -rf \/var\/lib\/frigate\/media\/\.frigate-copy\/incoming\/3 && /);
    assert.match(acceptStaged(f, ['recordings/a.mp4'], 3), /^cd \/var\/lib\/frigate\/media\/\.frigate-copy\/incoming\/3 && cp -alf --parents -- recordings\/a\.mp4 \/var\/lib\/frigate\/media\/ && cat >> /);
  });

  it('accept puts the staged files in place by hard link and lists them as verified (run with bash)', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'accept-'));
    try {
      const f = frigateSchema.parse({ node: 'n', lxc: { host: 'h', ctid: 113 }, hostPaths: { config: `${root}/config`, media: `${root}/media` } });
      const staged = path.join(root, 'media/.frigate-copy/incoming/0/recordings/d/x.mp4');
      fs.mkdirSync(path.dirname(staged), { recursive: true });
      fs.writeFileSync(staged, 'x');
      const ino = fs.statSync(staged).ino;
      execFileSync('bash', ['-c', acceptStaged(f, ['recordings/d/x.mp4'], 0)], { input: `${'a'.repeat(64)}  recordings/d/x.mp4\n` });
      assert.equal(fs.statSync(path.join(root, 'media/recordings/d/x.mp4')).ino, ino, 'the staged file itself, not a copy');
      assert.equal(fs.existsSync(path.join(root, 'media/.frigate-copy/incoming/0')), false, 'the batch staging is gone');
      assert.equal(fs.readFileSync(path.join(root, 'media/.frigate-copy/verified'), 'utf8'), `${'a'.repeat(64)}  recordings/d/x.mp4\n`);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a stream that stops moving fails the batch (retryable) and closes both channels', async () => {
    const f = frigateSchema.parse({ node: 'n', lxc: { host: 'h', ctid: 113 } });
    const closed: string[] = [];
    // a CT that never sends a byte, a node that waits for them: what a dead link looks like
    const channel = (name: string): StreamingCommand => {
      let lost!: (e: Error) => void;
      const done = new Promise<never>((_, reject) => (lost = reject));
      return { stdout: new PassThrough(), stdin: new PassThrough(), done, close: () => (closed.push(name), lost(new Error(`connection to ${name} lost`))) };
    };
    const exec: Executor = {
      run: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
      stream: async (t) => channel(t.host),
      close: async () => undefined,
    };
    const ctx = { exec, f, ct: { kind: 'lxc' as const, host: 'h', ctid: 113 }, node: { kind: 'host' as const, host: 'n' }, stallMs: 200 };
    await assert.rejects(streamBatch(ctx, [{ path: 'recordings/a.mp4', size: 1 }], 0), /stalled: no data for 0 s; both channels closed/);
    assert.deepEqual([...new Set(closed)].sort(), ['h', 'n']);
  });
});
