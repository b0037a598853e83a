/**
 * `@freshet/connectors`, loaded only by the jobs that use it.
 *
 * The connectors module graph (the file, Kafka and Postgres connectors, and
 * csv-parse / csv-stringify under the file formats) is a large part of what
 * a slot worker would import before its first record, and most jobs use none
 * of it. So nothing on the slot worker's static import graph imports it:
 * {@link loadConnectors} imports it once per thread, before the operators
 * that need it are built — by the program loader when the bundle imports
 * `@freshet/connectors`, and by the slot worker when the graph has a node
 * built on a connector ({@link graphNeedsConnectors}) — and those operators
 * take it from {@link loadedConnectors}, synchronously.
 */
import type { StreamGraph } from '@freshet/graph';

/** The `@freshet/connectors` module. */
export type ConnectorsModule = typeof import('@freshet/connectors');

let loaded: ConnectorsModule | undefined;
let loading: Promise<ConnectorsModule> | undefined;

/** Imports `@freshet/connectors` (once per thread) and returns it. */
export function loadConnectors(): Promise<ConnectorsModule> {
  loading ??= import('@freshet/connectors').then((m) => {
    loaded = m;
    return m;
  });
  return loading;
}

/** Whether this thread has imported `@freshet/connectors` through {@link loadConnectors}. */
export function connectorsLoaded(): boolean {
  return loaded !== undefined;
}

/**
 * The connectors module, for the built-in sources and sinks that are built
 * on it (`readTextFile`, `writeAsJsonLines`, `writeAsText`). Throws when no
 * {@link loadConnectors} finished before: a host that builds such an
 * operator must load the connectors first (see {@link graphNeedsConnectors}).
 */
export function loadedConnectors(): ConnectorsModule {
  if (loaded === undefined) {
    throw new Error(
      'internal: @freshet/connectors is not loaded in this thread; await loadConnectors() before building ' +
        'a file source or sink (graphNeedsConnectors tells which graphs need it)',
    );
  }
  return loaded;
}

/** Whether a graph has a built-in source or sink that is built on `@freshet/connectors` (text file source, JSON-lines or text file sink). */
export function graphNeedsConnectors(graph: Pick<StreamGraph, 'nodes'>): boolean {
  for (const node of graph.nodes) {
    if (node.spec.source?.type === 'textFile') return true;
    const sink = node.spec.sink?.type;
    if (sink === 'jsonLines' || sink === 'text') return true;
  }
  return false;
}
