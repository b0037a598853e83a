/**
 * A layered left-to-right layout for the JobGraph (a small DAG): each vertex's
 * layer is its longest path from a source, vertices within a layer are ordered
 * by the mean position of their predecessors (one barycenter sweep, enough to
 * untangle job graphs of a few dozen vertices), and each layer is centred
 * vertically. Hand-written because job graphs are small and a layout library
 * would be the biggest dependency of the page.
 */

/** What the layout needs of a graph. */
export interface LayoutInput {
  nodes: readonly { id: string }[];
  edges: readonly { source: string; target: string }[];
}

/** Top-left corner of each node, by id. */
export type LayoutPositions = Map<string, { x: number; y: number; layer: number }>;

/** Sizes and gaps of {@link layeredLayout}. */
export interface LayoutOptions {
  /** @default 260 */
  nodeWidth?: number;
  /** @default 150 */
  nodeHeight?: number;
  /** Horizontal gap between layers. @default 90 */
  layerGap?: number;
  /** Vertical gap between nodes of one layer. @default 36 */
  nodeGap?: number;
}

/** Lays out `graph` left to right; cycles (never in a JobGraph) are broken at the back edge. */
export function layeredLayout(graph: LayoutInput, options: LayoutOptions = {}): LayoutPositions {
  const { nodeWidth = 260, nodeHeight = 150, layerGap = 90, nodeGap = 36 } = options;
  const ids = graph.nodes.map((n) => n.id);
  const known = new Set(ids);
  const preds = new Map<string, string[]>(ids.map((id) => [id, []]));
  const succs = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of graph.edges) {
    if (!known.has(e.source) || !known.has(e.target) || e.source === e.target) continue;
    preds.get(e.target)!.push(e.source);
    succs.get(e.source)!.push(e.target);
  }

  // Longest path from a source, by depth-first search with memo; a node on the
  // current path (a cycle) counts as layer 0 from there.
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const layerOf = (id: string): number => {
    const memo = layer.get(id);
    if (memo !== undefined) return memo;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    let l = 0;
    for (const p of preds.get(id) ?? []) l = Math.max(l, layerOf(p) + 1);
    visiting.delete(id);
    layer.set(id, l);
    return l;
  };
  for (const id of ids) layerOf(id);

  const layers: string[][] = [];
  for (const id of ids) (layers[layer.get(id)!] ??= []).push(id);

  // Order each layer by the barycenter of its predecessors' positions.
  const rank = new Map<string, number>();
  for (const nodes of layers) {
    if (!nodes) continue;
    const keyed = nodes.map((id, i) => {
      const ps = (preds.get(id) ?? []).map((p) => rank.get(p)).filter((r) => r !== undefined);
      const bary = ps.length === 0 ? i : ps.reduce((a, b) => a + b, 0) / ps.length;
      return { id, bary, i };
    });
    keyed.sort((a, b) => a.bary - b.bary || a.i - b.i);
    keyed.forEach((k, i) => rank.set(k.id, i));
    nodes.splice(0, nodes.length, ...keyed.map((k) => k.id));
  }

  const tallest = Math.max(0, ...layers.map((nodes) => nodes?.length ?? 0));
  const fullHeight = tallest * nodeHeight + Math.max(0, tallest - 1) * nodeGap;
  const positions: LayoutPositions = new Map();
  layers.forEach((nodes, l) => {
    if (!nodes) return;
    const height = nodes.length * nodeHeight + (nodes.length - 1) * nodeGap;
    const top = (fullHeight - height) / 2;
    nodes.forEach((id, i) => {
      positions.set(id, { x: l * (nodeWidth + layerGap), y: top + i * (nodeHeight + nodeGap), layer: l });
    });
  });
  return positions;
}
