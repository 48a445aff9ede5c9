import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UsageError } from '../errors.js';
import { openStore } from '../store/store.js';
import { WatchStore } from './state.js';

describe('WatchStore.claim', () => {
  it('refuses a second live watcher, and takes over from one that is gone', () => {
    const store = openStore(':memory:');
    try {
      const watch = new WatchStore(store);
      watch.claim(101, 'host-a', () => true);
      assert.throws(() => watch.claim(202, 'host-a', () => true), /being watched by process 101 on host-a/);
      // Another host's watcher cannot be checked from here: refused too.
      assert.throws(
        () => watch.claim(303, 'host-b', () => false),
        (error: UsageError) => /on host-a/.test(error.message) && /one store serves one watcher/.test(error.hint ?? ''),
      );
      // Killed (its pid no longer exists on this host): taken over.
      watch.claim(202, 'host-a', () => false);
      watch.release(202);
      watch.claim(404, 'host-b', () => true);
      assert.match(watch.meta('watcher') ?? '', /"pid":404/);
    } finally {
      store.close();
    }
  });

  it('finds the greatest committed key under a prefix', () => {
    const store = openStore(':memory:');
    try {
      const watch = new WatchStore(store);
      const { state } = watch.loadState();
      const keys = ['s3://b/p/2026/03/01/x', 's3://b/p/2026/03/02/y', 's3://b/q/2026/04/01/z'];
      watch.commit({
        keys: keys.map((key) => ({ key, size: 1 })),
        state,
        changedUsages: [],
        expiredUsages: [],
        vending: [],
        expiredVending: [],
        ownershipEvents: [],
        revocations: [],
        watermarkMs: 0,
        findings: [],
        emit: [],
        sinks: [],
        runId: store.beginRun('watch', {}),
      });
      assert.equal(watch.lastCommitted('s3://b/p/'), 's3://b/p/2026/03/02/y');
      assert.equal(watch.lastCommitted('s3://b/r/'), undefined);
      assert.ok(watch.isCommitted('s3://b/q/2026/04/01/z'));
      assert.ok(!watch.isCommitted('s3://b/q/2026/04/01'));
    } finally {
      store.close();
    }
  });
});
