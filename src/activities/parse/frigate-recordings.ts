// Frigate's recordings index as read three ways: the rows of frigate.db (table `recordings` of
// blakeblackshear/frigate v0.14.1 frigate/models.py Recordings, created by migrations/003 and
// extended by 006/012/018/023) as our read-only python3 scripts print them (src/activities/frigate/
// database.ts), and GET /api/<camera>/recordings (frigate/api/media.py recordings(): a JSON list of
// {id, start_time, end_time, segment_size, motion, objects, duration}, end_time >= after and
// start_time <= before, default the last hour).

/** frigate/models.py Recordings.id: CharField(max_length=30), `<start timestamp>-<6 random>` (record/maintainer.py). */
const ID = /^[A-Za-z0-9._-]{1,30}$/;
/** frigate/const.py REGEX_CAMERA_NAME. */
export const CAMERA_NAME = /^[a-zA-Z0-9_-]+$/;

export interface LxcRow {
  id: string;
  camera: string;
  /** The row's absolute path (under /media/frigate/recordings). */
  path: string;
  start: number;
  end: number;
  /** Size of the file in the CT; null when the row's file is gone. */
  size: number | null;
}

const bad = (what: string, v: unknown) => new Error(`unexpected ${what} in Frigate's database: ${JSON.stringify(v)?.slice(0, 120)}`);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** `{"dbBytes": n, "rows": [[id, camera, path, start, end, size|null], ...]}`. */
export function parseLxcRows(text: string): { dbBytes: number; rows: LxcRow[] } {
  const raw = JSON.parse(text) as { dbBytes?: unknown; rows?: unknown };
  if (!isNum(raw.dbBytes) || !Array.isArray(raw.rows)) throw bad('listing', text);
  const rows = raw.rows.map((r: unknown): LxcRow => {
    if (!Array.isArray(r) || r.length !== 6) throw bad('row', r);
    const [id, camera, path, start, end, size] = r as unknown[];
    if (typeof id !== 'string' || !ID.test(id)) throw bad('recording id', id);
    if (typeof camera !== 'string' || !CAMERA_NAME.test(camera)) throw bad('camera', camera);
    if (typeof path !== 'string') throw bad('path', path);
    if (!isNum(start) || !isNum(end)) throw bad('start/end', r);
    if (size !== null && !isNum(size)) throw bad('size', size);
    return { id, camera, path, start, end, size: size as number | null };
  });
  return { dbBytes: raw.dbBytes, rows };
}

/** `null` (no database on the node yet) or `[[id, path], ...]`. */
export function parseNodeRows(text: string): Map<string, string> | null {
  const raw = JSON.parse(text) as unknown;
  if (raw === null) return null;
  if (!Array.isArray(raw)) throw bad('listing', text);
  const out = new Map<string, string>();
  for (const r of raw) {
    if (!Array.isArray(r) || typeof r[0] !== 'string' || typeof r[1] !== 'string') throw bad('row', r);
    out.set(r[0], r[1]);
  }
  return out;
}

/** The ids GET /api/<camera>/recordings lists. */
export function parseRecordingsList(text: string): string[] {
  const raw = JSON.parse(text) as unknown;
  if (!Array.isArray(raw)) throw new Error(`/recordings did not answer a JSON list: ${text.slice(0, 120)}`);
  return raw.map((r: unknown) => {
    const id = (r as { id?: unknown })?.id;
    if (typeof id !== 'string') throw new Error(`/recordings listed an entry without id: ${JSON.stringify(r).slice(0, 120)}`);
    return id;
  });
}
