// Frigate's config as it moves from the LXC into K3s: the same cameras and settings, with the
// detector set to the PCIe Coral (frigate/detectors/plugins/edgetpu_tfl.py: type edgetpu, device "pci")
// and ffmpeg decoding on the RX 580 (frigate/const.py FFMPEG_HWACCEL_VAAPI "preset-vaapi"), Frigate v0.14.1.
import { parseDocument } from 'yaml';

export const CORAL_DETECTOR = 'coral';

export interface AdaptedConfig {
  text: string;
  cameras: string[];
  changes: string[];
}

export function cameraNames(yamlText: string): string[] {
  const doc = parseDocument(yamlText);
  const cams = doc.toJS()?.cameras;
  return cams && typeof cams === 'object' ? Object.keys(cams).sort() : [];
}

/** Where Frigate keeps its database: config `database.path` (frigate/config.py DatabaseConfig), default /config/frigate.db. */
export function databasePath(yamlText: string): string {
  const p = parseDocument(yamlText).toJS()?.database?.path;
  return typeof p === 'string' && p ? p : '/config/frigate.db';
}

export function adaptConfig(yamlText: string): AdaptedConfig {
  const doc = parseDocument(yamlText);
  if (doc.errors.length) throw new Error(`Frigate's config is not valid YAML: ${doc.errors[0]!.message}`);
  const before = doc.toJS() ?? {};
  const changes: string[] = [];
  const wantDetectors = { [CORAL_DETECTOR]: { type: 'edgetpu', device: 'pci' } };
  if (JSON.stringify(before.detectors) !== JSON.stringify(wantDetectors)) {
    doc.set('detectors', doc.createNode(wantDetectors));
    changes.push(`detectors: ${JSON.stringify(before.detectors ?? null)} → ${JSON.stringify(wantDetectors)}`);
  }
  if (before.ffmpeg?.hwaccel_args !== 'preset-vaapi') {
    doc.setIn(['ffmpeg', 'hwaccel_args'], 'preset-vaapi');
    changes.push(`ffmpeg.hwaccel_args: ${JSON.stringify(before.ffmpeg?.hwaccel_args ?? null)} → "preset-vaapi"`);
  }
  return { text: doc.toString(), cameras: cameraNames(yamlText), changes };
}
