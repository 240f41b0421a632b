// The copy of Frigate's database, run on a real SQLite file: a running Frigate keeps its newest rows in
// frigate.db-wal (playhouse.sqliteq forces WAL), so a file copy loses them and the online backup does not;
// the import keeps only rows whose file is on the node, and merges into a database that is there already.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportSnapshot, importSnapshot, listNodeRows } from '../../src/activities/frigate/database';
import { parseNodeRows } from '../../src/activities/parse/frigate-recordings';

const SEED = path.join(__dirname, '..', '..', 'lab', 'standins', 'lib', 'frigate-db.py');
const sh = (script: string) => execFileSync('bash', ['-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const ids = (db: string) => parseNodeRows(sh(listNodeRows(db, 0)))!;

describe('Frigate database copy (sqlite3)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frigate-db-'));
  const ct = path.join(dir, 'ct');
  const segs = ['2026-11-01/08/door/00.07.mp4', '2026-11-01/08/door/10.07.mp4', '2026-11-02/08/door/00.07.mp4', '2026-11-02/08/yard/00.07.mp4'];
  for (const s of segs) {
    fs.mkdirSync(path.dirname(path.join(ct, 'media', 'recordings', s)), { recursive: true });
    fs.writeFileSync(path.join(ct, 'media', 'recordings', s), `mp4 ${s}`);
  }
  fs.mkdirSync(path.join(ct, 'config'));
  const db = path.join(ct, 'config', 'frigate.db');
  const nov2 = Date.UTC(2026, 10, 2) / 1000;
  execFileSync('python3', [SEED, 'seed', db, path.join(ct, 'media'), String(nov2 - 1)]);
  const all = ids(db);

  it('a running Frigate has its newest rows only in the WAL: a file copy misses them', () => {
    assert.ok(fs.existsSync(`${db}-wal`));
    const plain = path.join(dir, 'plain.db');
    fs.copyFileSync(db, plain);
    assert.equal(all.size, segs.length + 1, 'every segment, plus the row whose file is gone');
    assert.equal(ids(plain).size, 2, 'only the checkpointed rows of Nov 1');
  });

  const node = path.join(dir, 'node');
  const nodeDb = path.join(node, 'config', 'frigate.db');
  fs.mkdirSync(path.join(node, 'config'), { recursive: true });
  const place = (only: string[], lo: number, hi: number) => {
    for (const s of only) {
      fs.mkdirSync(path.dirname(path.join(node, 'media', 'recordings', s)), { recursive: true });
      fs.copyFileSync(path.join(ct, 'media', 'recordings', s), path.join(node, 'media', 'recordings', s));
    }
    fs.writeFileSync(`${nodeDb}.b64`, sh(exportSnapshot(db, lo, hi)));
    return sh(importSnapshot(`${nodeDb}.b64`, nodeDb, path.join(node, 'media'))).trim();
  };

  it('the snapshot carries the WAL rows; the import puts it in place with only the rows whose file is on the node', () => {
    const out = place(segs.slice(2), nov2, nov2 + 86_400);
    assert.match(out, /^created 2 1$/, 'the two Nov 2 segments, the Nov 2 row without file dropped');
    const got = ids(nodeDb);
    assert.deepEqual([...got.values()].sort(), segs.slice(2).map((s) => `/media/frigate/recordings/${s}`).sort());
    assert.ok(!fs.existsSync(`${nodeDb}.b64`) && !fs.existsSync(`${nodeDb}.incoming`));
    assert.equal(execFileSync('python3', ['-c', 'import sqlite3,sys;print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])', nodeDb], { encoding: 'utf8' }).trim(), 'ok');
  });

  it('a database already on the node (Frigate in K3s made it) gets the missing rows merged, nothing replaced', () => {
    const out = place(segs.slice(0, 2), 0, nov2 + 86_400);
    assert.match(out, /^merged 2 1$/, 'the Nov 1 rows added, the Nov 2 rows there already ignored');
    assert.equal(ids(nodeDb).size, segs.length);
  });
});

describe("the lab's record.sync_recordings (frigate/record/util.py sync_recordings)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frigate-sync-'));
  const media = path.join(dir, 'media');
  const db = path.join(dir, 'frigate.db');
  const file = (s: string) => path.join(media, 'recordings', s);
  const write = (s: string) => {
    fs.mkdirSync(path.dirname(file(s)), { recursive: true });
    fs.writeFileSync(file(s), s);
  };
  const own = ['2026-11-02/08/door/00.07.mp4', '2026-11-02/08/door/10.07.mp4', '2026-11-02/08/door/20.07.mp4'];
  for (const s of own) write(s);
  execFileSync('python3', [SEED, 'seed', db, media, '0']);
  const sync = () => JSON.parse(execFileSync('python3', [SEED, 'sync', db, media], { encoding: 'utf8' })) as Record<string, unknown>;

  it('deletes the row whose file is gone, and a copied file without a row while they are the minority', () => {
    write('2026-11-01/08/door/00.07.mp4'); // copied without its row
    assert.deepEqual(sync(), { rowsDeleted: 1, filesDeleted: 1 });
    assert.ok(!fs.existsSync(file('2026-11-01/08/door/00.07.mp4')));
    for (const s of own) assert.ok(fs.existsSync(file(s)));
  });

  it('aborts when more than half of the files have no row (a whole copy without its database stays, unlisted)', () => {
    for (const s of ['2026-11-01/09/door/00.07.mp4', '2026-11-01/09/door/10.07.mp4', '2026-11-01/09/door/20.07.mp4', '2026-11-01/09/door/30.07.mp4']) write(s);
    assert.deepEqual(sync(), { rowsDeleted: 0, filesDeleted: 0, aborted: 'files' });
  });
});
