/**
 * Throughput of a simple pipeline on the local mini-cluster:
 * generator -> map -> keyBy -> reduce -> discard, at parallelism 1 and 2.
 *
 *   node --import tsx --conditions=@freshet/source bench/src/local-bench.ts [events]
 *
 * CPU time is the whole process (all threads, start-up included).
 */
import { cpuUsage } from 'node:process';
import { runLocalJob } from '@freshet/runtime';
import { fixtureJob } from '@freshet/runtime/testing';

const events = Number(process.argv[2] ?? 2_000_000);
for (const p of [1, 2]) {
  const cpu0 = cpuUsage();
  const r = await runLocalJob({ ...fixtureJob('bench', { n: events, p }), timeoutMs: 300_000 });
  const cpu = cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const sec = r.durationMs / 1000;
  console.log(
    `parallelism ${p}: ${r.status} ${events} events in ${sec.toFixed(2)} s = ${Math.round(events / sec).toLocaleString('en')} events/s, ` +
      `${cpuSec.toFixed(2)} CPU-s = ${Math.round(events / cpuSec).toLocaleString('en')} events per CPU-second`,
  );
  for (const m of r.metrics.subtasks) {
    console.log(
      `  ${m.vertexName}#${m.subtask}: in ${m.recordsIn} out ${m.recordsOut} bytesOut ${m.bytesOut} busy ${Math.round(m.busyMs)} ms backpressured ${Math.round(m.backpressuredMs)} ms`,
    );
  }
}
