/**
 * The dashboard's static files: offbox's own (`web/`) and the browser builds of Preact, htm and uPlot,
 * served from the installed packages so the page works offline and under a CSP without a CDN.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';

/** One file ready to send. */
export interface Asset {
  body: Uint8Array;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Extensions `/assets/app/` serves; anything else in web/ (sources, notes, dotfiles) stays private. */
const APP_EXTENSIONS = new Set(['.js', '.css', '.html', '.svg', '.png']);

/** Both src/serve/ and dist/serve/ sit two levels below the package root, beside web/. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

const requireHere = createRequire(import.meta.url);

/** The folder of an installed package, found from its entry point (some packages do not export package.json). */
function packageDir(name: string): string {
  let dir = dirname(requireHere.resolve(name));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
      if (pkg.name === name) return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json of ${name} not found above ${requireHere.resolve(name)}`);
    dir = parent;
  }
}

function readPackageFile(name: string, path: string): string {
  try {
    return readFileSync(join(packageDir(name), path), 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read ${name}/${path} for the dashboard: ${(err as Error).message}`,
      'reinstall offbox: its dependencies preact, htm and uplot ship the dashboard scripts',
      { cause: err },
    );
  }
}

/**
 * The vendor scripts and styles, by file name under `/assets/vendor/`, read once. Preact's hooks
 * import the bare specifier "preact", which a browser cannot resolve without an import map (an
 * inline script the CSP forbids); it is rewritten to the sibling file.
 */
export function loadVendorAssets(): Map<string, Asset> {
  const js = (text: string): Asset => ({ body: Buffer.from(text), contentType: CONTENT_TYPES['.js']! });
  const hooks = readPackageFile('preact', 'hooks/dist/hooks.module.js');
  const rewritten = hooks.replace(/from\s*(["'])preact\1/g, 'from"./preact.mjs"');
  if (rewritten === hooks) {
    throw new ConfigError(
      'preact/hooks no longer imports "preact" the way offbox expects',
      'install the preact version offbox was built with',
    );
  }
  return new Map<string, Asset>([
    ['preact.mjs', js(readPackageFile('preact', 'dist/preact.module.js'))],
    ['preact-hooks.mjs', js(rewritten)],
    ['htm.mjs', js(readPackageFile('htm', 'dist/htm.module.js'))],
    ['uplot.mjs', js(readPackageFile('uplot', 'dist/uPlot.esm.js'))],
    [
      'uplot.css',
      { body: Buffer.from(readPackageFile('uplot', 'dist/uPlot.min.css')), contentType: CONTENT_TYPES['.css']! },
    ],
  ]);
}

/**
 * Reads `requested` (the URL path below `/assets/app/`, still percent-encoded) from `webRoot`.
 * Returns undefined for anything that is not a plain file of an allowed type inside `webRoot`:
 * bad encodings, `..` or backslashes in any spelling, NUL, dotfiles, and symlinks leading out.
 */
export async function readWebFile(webRoot: string, requested: string): Promise<Asset | undefined> {
  let path: string;
  try {
    path = decodeURIComponent(requested);
  } catch {
    return undefined;
  }
  const segments = path.split('/');
  if (path.includes('\\') || path.includes('\0') || isAbsolute(path)) return undefined;
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))) return undefined;
  const extension = extname(path).toLowerCase();
  if (!APP_EXTENSIONS.has(extension)) return undefined;
  const root = resolve(webRoot);
  const file = resolve(root, ...segments);
  if (!isInside(root, file)) return undefined;
  try {
    const real = realpathSync(file);
    if (!isInside(realpathSync(root), real) || !statSync(real).isFile()) return undefined;
    return { body: await readFile(real), contentType: CONTENT_TYPES[extension]! };
  } catch {
    return undefined;
  }
}

function isInside(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}
