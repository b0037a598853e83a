/**
 * A sandboxed child's processes and their memory, read from `/proc` (Linux):
 * under bubblewrap the program is a grandchild of the host (bubblewrap's
 * init in between), so limits are watched over the whole tree.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size of a process in bytes, where /proc exists (undefined once it is gone). */
export function rssBytes(pid: number): number | undefined {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(statm[1]) * 4096;
  } catch {
    return undefined;
  }
}

/** `pid` and its descendants (bubblewrap's init and the Node process below it), from /proc. */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [pid];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      let children = parents.get(ppid);
      if (children === undefined) parents.set(ppid, (children = []));
      children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
}

/** Resident set size of `pids` together, in bytes (processes gone count 0). */
export function treeRssBytes(pids: readonly number[]): number {
  let rss = 0;
  for (const pid of pids) rss += rssBytes(pid) ?? 0;
  return rss;
}
