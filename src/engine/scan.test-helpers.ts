import { Readable } from 'node:stream';
import type { LogObject } from '../sources/log-object.js';
import { scanCloudTrail, type ScanOptions, type ScanResult } from './scan.js';

/** A log object held in memory, for tests. */
export function memoryObject(name: string, content: string | Buffer): LogObject {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  return { name, size: bytes.length, open: async () => Readable.from([bytes]) };
}

async function* iterate(objects: LogObject[]): AsyncGenerator<LogObject> {
  yield* objects;
}

/** Scans records given as objects, one S3-delivery file per inner array. */
export function scanRecords(files: unknown[][], options: ScanOptions = {}): Promise<ScanResult> {
  const objects = files.map((records, i) => memoryObject(`memory-${i}.json`, JSON.stringify({ Records: records })));
  return scanCloudTrail(iterate(objects), options);
}

export function scanObjects(objects: LogObject[], options: ScanOptions = {}): Promise<ScanResult> {
  return scanCloudTrail(iterate(objects), options);
}
