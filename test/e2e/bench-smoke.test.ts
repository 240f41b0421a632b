// The benchmark runs end to end on tiny sizes (issue 6). Not a performance test: it checks only that
// `npm run bench` works and writes its three files with every section filled in.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.join(__dirname, '..', '..');

test('npm run bench works on a tiny size (smoke)', { timeout: 360_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
  try {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'run.ts'), '--smoke', '--out', out], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, output }));
    });
    assert.equal(code, 0, `bench --smoke failed:\n${output.slice(-4000)}`);
    const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    for (const section of ['machineAtStart', 'perStep', 'fanout', 'startup', 'resume', 'cli', 'copy']) assert.ok(results[section], `results.json has ${section}`);
    assert.ok(Number(results.machineAtStart!.cores) > 0);
    assert.ok(Number((results.perStep!.ratios as Record<string, number>).engineOverFloor) > 0);
    const md = fs.readFileSync(path.join(out, 'benchmarks.md'), 'utf8');
    assert.match(md, /## 1\. Per-step overhead/);
    // the compiled worker and the CLI were measured, not left out
    const startup = results.startup as { compiled: { toFirstTask: { medianMs: number } } };
    const cli = results.cli as { help: { compiled: { medianMs: number } }; status: { compiled: { medianMs: number } }; planRejoin: { medianMs: number } };
    for (const v of [startup.compiled.toFirstTask.medianMs, cli.help.compiled.medianMs, cli.status.compiled.medianMs, cli.planRejoin.medianMs]) assert.ok(v > 0, JSON.stringify({ startup, cli }));
    assert.match(md, /`runbook plan k3s-rejoin` on the stale lab, wall \(§5\) \| \d+ ms \|/);
    assert.match(md, /## 5\. The runbook CLI/);
    // Phase 3's copy: the streamed path, the raw floor and the old path were each timed
    const copy = results.copy as { raw: { medianMs: number }; engine: { medianMs: number }; oldPath: { ms: number } };
    for (const v of [copy.raw.medianMs, copy.engine.medianMs, copy.oldPath.ms]) assert.ok(v > 0, JSON.stringify(copy));
    assert.match(md, /Phase 3 copy, \d+ MiB CT → node \/ raw tar over two ssh2 channels \(§6\) \| \d+\.\d+× \|/);
    assert.match(md, /!\[Ratios of this run\]\(ratios\.svg\)/);
    assert.match(fs.readFileSync(path.join(out, 'ratios.svg'), 'utf8'), /^<svg /);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
