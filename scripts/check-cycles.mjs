#!/usr/bin/env node
// npm run lint: no import cycle among the product's modules (src/, tests left out). Reads the
// relative `import … from` / `export … from` lines of every source file (type-only imports too: a
// cycle of types is still two modules that cannot be understood apart) and prints each cycle found.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const IMPORT = /^(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gms;

function sources(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.includes('.test-helpers.')) out.push(path);
  }
  return out;
}

const graph = new Map();
for (const file of sources(ROOT)) {
  const deps = new Set();
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    deps.add(resolve(dirname(file), m[1].replace(/\.js$/, '.ts')));
  }
  graph.set(
    file,
    [...deps].filter((d) => graph.has(d) || d.startsWith(ROOT)),
  );
}

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let index = 0;
const stack = [];
const state = new Map();
const cycles = [];
function visit(node) {
  const s = { index, low: index, onStack: true };
  index += 1;
  state.set(node, s);
  stack.push(node);
  for (const dep of graph.get(node) ?? []) {
    if (!graph.has(dep)) continue;
    const d = state.get(dep);
    if (!d) {
      visit(dep);
      s.low = Math.min(s.low, state.get(dep).low);
    } else if (d.onStack) s.low = Math.min(s.low, d.index);
  }
  if (s.low === s.index) {
    const component = [];
    let n;
    do {
      n = stack.pop();
      state.get(n).onStack = false;
      component.push(relative(ROOT, n));
    } while (n !== node);
    if (component.length > 1) cycles.push(component.sort());
  }
}
for (const node of graph.keys()) if (!state.has(node)) visit(node);

if (cycles.length > 0) {
  console.error(`import cycles in src/ (${cycles.length}):`);
  for (const c of cycles) console.error(`  ${c.join(' ↔ ')}`);
  console.error('break each one: move what both sides need into a module both import');
  process.exit(1);
}
console.log(`no import cycles among ${graph.size} modules in src/`);
