#!/usr/bin/env python3
"""Phase 3: Frigate's database (/config/frigate.db) in the lab: a real SQLite file.

The schema is the subset of Frigate 0.14.1 the recordings routes read, as its migrations leave it
(blakeblackshear/frigate v0.14.1 migrations/003_create_recordings_table.py; 006 objects, motion;
012 segment_size; 018 dBFS; 023 regions; indexes of 003/006/020; event table of
001_create_events_table.py, reduced). Rows are what frigate/record/maintainer.py move_segment stores:
id "<start.timestamp()>-<6 random>", path under RECORD_DIR /media/frigate/recordings, times as
unix floats. Frigate binds the database with playhouse.sqliteq.SqliteQueueDatabase (frigate/app.py
bind_database), which forces journal_mode=WAL: while Frigate runs, the newest rows sit in
frigate.db-wal, so a copy of frigate.db alone loses them.

Usage:
  frigate-db.py seed <db> <media dir> <wal-after unix ts>   rows for every mp4 under <media>/recordings
  frigate-db.py add <db> <media dir> <rel path>             the row of a segment the running Frigate just stored
  frigate-db.py sync <db> <media dir>                      record.sync_recordings at start (frigate/record/util.py)
  frigate-db.py init <db>                                   an empty database, as Frigate's first start makes it
  frigate-db.py recordings <db> <camera> <after> <before>  GET /api/<camera>/recordings (JSON)
  frigate-db.py summary <db> <camera>                      GET /api/<camera>/recordings/summary (JSON, utc)
"""
import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import sys

SCHEMA = [
    'CREATE TABLE IF NOT EXISTS "migratehistory" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "migrated_at" DATETIME NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "event" ("id" VARCHAR(30) NOT NULL PRIMARY KEY, "label" VARCHAR(20) NOT NULL, "camera" VARCHAR(20) NOT NULL, "start_time" DATETIME NOT NULL, "end_time" DATETIME, "has_clip" INTEGER NOT NULL, "has_snapshot" INTEGER NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "recordings" ("id" VARCHAR(30) NOT NULL PRIMARY KEY, "camera" VARCHAR(20) NOT NULL, "path" VARCHAR(255) NOT NULL, "start_time" DATETIME NOT NULL, "end_time" DATETIME NOT NULL, "duration" REAL NOT NULL, "objects" INTEGER, "motion" INTEGER, "segment_size" REAL NOT NULL DEFAULT 0, "dBFS" INTEGER, "regions" INTEGER)',
    'CREATE INDEX IF NOT EXISTS "recordings_camera" ON "recordings" ("camera")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "recordings_path" ON "recordings" ("path")',
    'CREATE INDEX IF NOT EXISTS "recordings_activity" ON "recordings" ("camera", "start_time" DESC, "regions")',
    'CREATE INDEX IF NOT EXISTS "recordings_camera_start_time_end_time" ON "recordings" ("camera", "start_time" DESC, "end_time" DESC)',
    'CREATE INDEX IF NOT EXISTS "recordings_start_time" ON "recordings" ("start_time")',
]
RECORD_DIR = '/media/frigate/recordings'
MIGRATIONS = 25  # v0.14.1 ships migrations 001..025


def seed(db, media, wal_after):
    """Rows for the CT's recordings; rows that start after wal_after only in the WAL (not checkpointed)."""
    rows = []
    root = os.path.join(media, 'recordings')
    for d, _, files in os.walk(root):
        for f in files:
            if not f.endswith('.mp4'):
                continue
            rel = os.path.relpath(os.path.join(d, f), root)  # <Y-m-d>/<H>/<camera>/<M>.<S>.mp4
            day, hour, camera, name = rel.split('/')
            mm, ss = name[:-4].split('.')
            start = datetime.datetime.strptime(f'{day} {hour}:{mm}:{ss}', '%Y-%m-%d %H:%M:%S').replace(tzinfo=datetime.timezone.utc).timestamp()
            size = os.path.getsize(os.path.join(d, f))
            rand = hashlib.sha256(rel.encode()).hexdigest()[:6]
            rows.append((f'{start}-{rand}', camera, f'{RECORD_DIR}/{rel}', start, start + 10.0, 10.0, 0, int(rand, 16) % 40, round(size / 2**20, 1), -40, 3))
    rows.sort(key=lambda r: r[3])
    if rows:
        # a row whose file was deleted outside Frigate (sync_recordings would drop it): nothing to copy
        last = rows[-1]
        gone = last[2][: last[2].rindex('/') + 1] + '59.59.mp4'
        rows.append((f'{last[3] + 1}-gone00', last[1], gone, last[3] + 1, last[3] + 11, 10.0, 0, 0, 0.0, -40, 0))
    tmp = db + '.seed'
    for p in (db, db + '-wal', db + '-shm', tmp, tmp + '-wal', tmp + '-shm'):
        if os.path.exists(p):
            os.remove(p)
    con = sqlite3.connect(tmp)
    con.execute('PRAGMA journal_mode=WAL')
    for s in SCHEMA:
        con.execute(s)
    now = datetime.datetime.now().isoformat(sep=' ')
    con.executemany('INSERT INTO migratehistory (name, migrated_at) VALUES (?, ?)', [(f'{i:03d}_migration', now) for i in range(1, MIGRATIONS + 1)])
    insert = 'INSERT INTO recordings (id, camera, path, start_time, end_time, duration, objects, motion, segment_size, dBFS, regions) VALUES (?,?,?,?,?,?,?,?,?,?,?)'
    con.executemany(insert, [r for r in rows if r[3] <= wal_after])
    con.commit()
    con.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    con.execute('PRAGMA wal_autocheckpoint=0')
    con.executemany(insert, [r for r in rows if r[3] > wal_after])
    con.commit()
    # the state of a running Frigate: frigate.db plus a WAL holding the newest rows
    shutil.copyfile(tmp, db)
    shutil.copyfile(tmp + '-wal', db + '-wal')
    con.close()
    for p in (tmp, tmp + '-wal', tmp + '-shm'):
        if os.path.exists(p):
            os.remove(p)
    print(json.dumps({'rows': len(rows), 'inWal': len([r for r in rows if r[3] > wal_after])}))


def add(db, media, rel):
    # frigate/record/maintainer.py move_segment: the file first, then its row
    day, hour, camera, name = rel.split('/')
    mm, ss = name[:-4].split('.')
    start = datetime.datetime.strptime(f'{day} {hour}:{mm}:{ss}', '%Y-%m-%d %H:%M:%S').replace(tzinfo=datetime.timezone.utc).timestamp()
    size = os.path.getsize(os.path.join(media, 'recordings', rel))
    rid = f'{start}-' + hashlib.sha256(rel.encode()).hexdigest()[:6]
    con = sqlite3.connect(db, timeout=30)
    con.execute(
        'INSERT INTO recordings (id, camera, path, start_time, end_time, duration, objects, motion, segment_size, dBFS, regions) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
        (rid, camera, f'{RECORD_DIR}/{rel}', start, start + 10.0, 10.0, 0, 5, round(size / 2**20, 1), -40, 1),
    )
    con.commit()
    con.close()
    print(json.dumps({'id': rid, 'camera': camera, 'path': f'{RECORD_DIR}/{rel}', 'start_time': start, 'end_time': start + 10.0}))


def init(db):
    # frigate/app.py init_database: peewee_migrate creates the tables when the file is missing
    if os.path.exists(db):
        return
    os.makedirs(os.path.dirname(db), exist_ok=True)
    con = sqlite3.connect(db)
    con.execute('PRAGMA journal_mode=WAL')
    for s in SCHEMA:
        con.execute(s)
    now = datetime.datetime.now().isoformat(sep=' ')
    con.executemany('INSERT INTO migratehistory (name, migrated_at) VALUES (?, ?)', [(f'{i:03d}_migration', now) for i in range(1, MIGRATIONS + 1)])
    con.commit()
    con.close()


def sync(db, media):
    """frigate/record/util.py sync_recordings(limited=False), as frigate/record/cleanup.py runs it at start
    with record.sync_recordings: rows whose file is missing are deleted, then files without a row, each
    only when at most half would go (else that part aborts, and a failed row part skips the files)."""
    host = lambda p: os.path.join(media, os.path.relpath(p, '/media/frigate'))
    con = sqlite3.connect(db, timeout=60)
    rows = con.execute('SELECT id, path FROM recordings').fetchall()
    gone = [(i,) for i, p in rows if not os.path.exists(host(p))]
    out = {'rowsDeleted': 0, 'filesDeleted': 0}
    if gone and len(gone) / max(1, len(rows)) > 0.5:
        print(json.dumps({**out, 'aborted': 'rows'}))
        return
    con.executemany('DELETE FROM recordings WHERE id = ?', gone)
    con.commit()
    out['rowsDeleted'] = len(gone)
    indexed = {host(p) for (p,) in con.execute('SELECT path FROM recordings')}
    con.close()
    root = os.path.join(media, 'recordings')
    on_disk = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    orphans = [f for f in on_disk if f not in indexed]
    if orphans and len(orphans) / max(1, len(on_disk)) > 0.5:
        print(json.dumps({**out, 'aborted': 'files'}))
        return
    for f in orphans:
        os.unlink(f)
    out['filesDeleted'] = len(orphans)
    print(json.dumps(out))


def ro(db):
    # read-only, as the API's readers: never checkpoints or removes the WAL of a database Frigate holds
    return sqlite3.connect(f'file:{db}?mode=ro', uri=True)


def recordings(db, camera, after, before):
    # frigate/api/media.py recordings(): camera, end_time >= after, start_time <= before, by start_time
    con = ro(db)
    cur = con.execute(
        'SELECT id, start_time, end_time, segment_size, motion, objects, duration FROM recordings '
        'WHERE camera = ? AND end_time >= ? AND start_time <= ? ORDER BY start_time',
        (camera, after, before),
    )
    cols = [c[0] for c in cur.description]
    print(json.dumps([dict(zip(cols, r)) for r in cur.fetchall()], sort_keys=True))


def summary(db, camera):
    # frigate/api/media.py recordings_summary() with timezone utc: per day, per hour sums and event counts
    con = ro(db)
    hours = con.execute(
        "SELECT strftime('%Y-%m-%d %H', datetime(start_time, 'unixepoch')) AS hour, SUM(duration), SUM(motion), SUM(objects) "
        'FROM recordings WHERE camera = ? GROUP BY CAST(start_time AS INT) / 3600 ORDER BY start_time DESC',
        (camera,),
    ).fetchall()
    events = dict(con.execute(
        "SELECT strftime('%Y-%m-%d %H', datetime(start_time, 'unixepoch')), COUNT(id) FROM event "
        'WHERE camera = ? AND has_clip GROUP BY CAST(start_time AS INT) / 3600',
        (camera,),
    ).fetchall())
    days = {}
    for hour, duration, motion, objects in hours:
        day, hh = hour.split()
        n = events.get(hour, 0)
        h = {'duration': round(duration), 'events': n, 'hour': hh, 'motion': motion, 'objects': objects}
        if day not in days:
            days[day] = {'day': day, 'events': n, 'hours': [h]}
        else:
            days[day]['events'] += n
            days[day]['hours'].append(h)
    print(json.dumps(list(days.values()), sort_keys=True))


if __name__ == '__main__':
    cmd, *args = sys.argv[1:]
    if cmd == 'seed':
        seed(args[0], args[1], float(args[2]))
    elif cmd == 'add':
        add(args[0], args[1], args[2])
    elif cmd == 'sync':
        sync(args[0], args[1])
    elif cmd == 'init':
        init(args[0])
    elif cmd == 'recordings':
        recordings(args[0], args[1], float(args[2]), float(args[3]))
    elif cmd == 'summary':
        summary(args[0], args[1])
    else:
        sys.exit(f'unknown command {cmd}')
