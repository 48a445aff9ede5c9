#!/usr/bin/env node
// npm writes package-lock.json with only this platform's optional native bindings (@duckdb/node-bindings-*);
// `npm ci` on the same machine then refuses the lock ("Missing: …-darwin-arm64 from lock file"). This adds an
// entry for every other platform binding an installed package lists, with the platform read from the package
// name, so npm ci accepts the lock and skips them as optional for other platforms. Run it after
// `npm install` whenever dependencies change: `node scripts/complete-lock.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const packages = lock.packages;
const PLATFORM = /-(darwin|linux|win32)-(x64|arm64)(-musl)?$/;
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    if (packages[target] || packages[`${path}/${target}`]) continue;
    const platform = PLATFORM.exec(name);
    if (!platform) throw new Error(`${name}: optional dependency of ${path} missing from the lock, platform unknown`);
    const record = { version, cpu: [platform[2]] };
    if (platform[1] === 'linux') record.libc = [platform[3] ? 'musl' : 'glibc'];
    record.optional = true;
    record.os = [platform[1]];
    packages[target] = record;
    added += 1;
    console.log(`added ${target}@${version}`);
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added === 0 ? 'the lock already lists every platform' : `${added} entries added`);
