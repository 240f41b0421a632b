// Frigate's recordings index and how it moves with the recordings. Upstream (blakeblackshear/frigate
// v0.14.1, the image's tag): the database is /config/frigate.db (frigate/const.py DEFAULT_DB_PATH,
// config `database.path`), opened by playhouse.sqliteq.SqliteQueueDatabase, which forces WAL
// (frigate/app.py bind_database): while the LXC's Frigate runs, its newest rows are in frigate.db-wal,
// so only SQLite's online backup gives a consistent copy. The API lists a recording only through its
// `recordings` row (frigate/api/media.py recordings, recordings_summary), and a row holds the absolute
// path under RECORD_DIR /media/frigate/recordings (frigate/record/maintainer.py move_segment), the same
// path in the CT and in the pod (media mounted at /media/frigate). Files without a row are invisible,
// and with record.sync_recordings deleted (frigate/record/util.py sync_recordings).
// The scripts run with the python3 Frigate itself runs on (the CT) or the node's (cloud-init's).
import { shellCommand } from '../exec/quote';

/** frigate/const.py BASE_DIR and RECORD_DIR: where rows point, in the CT and in the pod alike. */
export const MEDIA_DIR = '/media/frigate';
export const RECORD_DIR = `${MEDIA_DIR}/recordings`;
/** frigate/const.py CONFIG_DIR and DEFAULT_DB_PATH. */
export const CONFIG_DIR = '/config';
export const DEFAULT_DB_PATH = `${CONFIG_DIR}/frigate.db`;

/** Paths that go into a sqlite `file:` URI and a shell word unescaped. */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]+$/;
export function validDbPath(p: string): string {
  if (!SAFE_PATH.test(p) || p.includes('..')) throw new Error(`unexpected database path ${JSON.stringify(p)}`);
  return p;
}

/** Read only (never checkpoints a WAL the running Frigate holds): rows since `since`, each with its file's size in the CT. */
const LIST_ROWS = `import json, os, sqlite3, sys
db, since = sys.argv[1], float(sys.argv[2])
c = sqlite3.connect('file:' + db + '?mode=ro', uri=True, timeout=60)
rows = c.execute('SELECT id, camera, path, start_time, end_time FROM recordings WHERE start_time >= ? ORDER BY start_time', (since,)).fetchall()
size = c.execute('PRAGMA page_count').fetchone()[0] * c.execute('PRAGMA page_size').fetchone()[0]
out = []
for i, cam, p, s, e in rows:
    try:
        n = os.stat(p).st_size
    except OSError:
        n = None
    out.append([i, cam, p, s, e, n])
print(json.dumps({'dbBytes': size, 'rows': out}))`;

/** A consistent snapshot (sqlite3 online backup: the WAL included) with the recordings rows outside [lo, hi] left out, as base64. */
const EXPORT_SNAPSHOT = `import base64, os, sqlite3, sys, tempfile
db, lo, hi = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
fd, tmp = tempfile.mkstemp(suffix='.db')
os.close(fd)
try:
    src = sqlite3.connect('file:' + db + '?mode=ro', uri=True, timeout=60)
    dst = sqlite3.connect(tmp)
    src.backup(dst)
    src.close()
    dst.execute('DELETE FROM recordings WHERE start_time < ? OR start_time > ?', (lo, hi))
    dst.commit()
    dst.execute('PRAGMA journal_mode=DELETE')
    dst.close()
    with open(tmp, 'rb') as f:
        sys.stdout.write(base64.b64encode(f.read()).decode())
finally:
    os.unlink(tmp)`;

/**
 * On the node: decode the snapshot, drop rows whose file is not on the node, then either put it in
 * place (no database yet: Frigate in K3s never started) or merge its recordings rows into the
 * database there (Frigate in K3s made its own: WAL lets this writer wait for the lock beside it).
 */
const IMPORT_SNAPSHOT = `import base64, os, sqlite3, sys
b64, db, media, media_dir = sys.argv[1:5]
inc = db + '.incoming'
with open(b64) as f:
    data = base64.b64decode(f.read())
with open(inc, 'wb') as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
c = sqlite3.connect(inc)
if c.execute('PRAGMA integrity_check').fetchone()[0] != 'ok':
    sys.exit('the copied database fails PRAGMA integrity_check')
gone = [(i,) for i, p in c.execute('SELECT id, path FROM recordings') if not p.startswith(media_dir + '/recordings/') or not os.path.isfile(media + p[len(media_dir):])]
c.executemany('DELETE FROM recordings WHERE id = ?', gone)
c.commit()
n = c.execute('SELECT COUNT(*) FROM recordings').fetchone()[0]
c.close()
if not os.path.exists(db):
    for s in ('-wal', '-shm', '-journal'):
        if os.path.exists(db + s):
            os.remove(db + s)
    os.rename(inc, db)
    print('created', n, len(gone))
else:
    c = sqlite3.connect(db, timeout=120)
    c.execute('ATTACH DATABASE ? AS inc', (inc,))
    mine = [r[1] for r in c.execute('PRAGMA main.table_info(recordings)')]
    cols = ', '.join('"%s"' % x for x in [r[1] for r in c.execute('PRAGMA inc.table_info(recordings)')] if x in mine)
    added = c.execute('INSERT OR IGNORE INTO main.recordings (%s) SELECT %s FROM inc.recordings' % (cols, cols)).rowcount
    c.commit()
    c.execute('DETACH DATABASE inc')
    c.close()
    os.remove(inc)
    print('merged', added, len(gone))
os.remove(b64)`;

/** On the node, read only: id and path of every row since `since`; null when there is no database yet. */
const NODE_ROWS = `import json, os, sqlite3, sys
db, since = sys.argv[1], float(sys.argv[2])
if not os.path.exists(db):
    print('null')
    sys.exit(0)
c = sqlite3.connect('file:' + db + '?mode=ro', uri=True, timeout=60)
print(json.dumps(c.execute('SELECT id, path FROM recordings WHERE start_time >= ?', (since,)).fetchall()))`;

const py = (script: string, args: Array<string | number>): string => shellCommand(['python3', '-c', script, ...args.map(String)]);

export const listLxcRows = (db: string, since: number): string => py(LIST_ROWS, [validDbPath(db), since]);
export const exportSnapshot = (db: string, lo: number, hi: number): string => py(EXPORT_SNAPSHOT, [validDbPath(db), lo, hi]);
export const importSnapshot = (b64: string, db: string, media: string): string => py(IMPORT_SNAPSHOT, [validDbPath(b64), validDbPath(db), validDbPath(media), MEDIA_DIR]);
export const listNodeRows = (db: string, since: number): string => py(NODE_ROWS, [validDbPath(db), since]);
