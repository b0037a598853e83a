'use client';

import {
  Background,
  BaseEdge,
  Controls,
  EdgeLabelRenderer,
  getBezierPath,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type EdgeProps,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useMemo } from 'react';
import { formatCount, formatPercent, formatRate, formatWatermark, plural } from '@/lib/format';
import { loadColor, statusTone, type VertexMetrics } from '@/lib/jobs';
import { layeredLayout } from '@/lib/layout';
import { useTheme } from '@/lib/use-theme';

const NODE_WIDTH = 270;
const NODE_HEIGHT = 168;
/** Chained operators listed under the head one; more are summed up, so a node keeps its height. */
const CHAIN_SHOWN = 3;

interface VertexData extends Record<string, unknown> {
  vertexId: string;
  operators: string[];
  parallelism: number;
  isSource: boolean;
  status: string | undefined;
  metrics: VertexMetrics | undefined;
  selected: boolean;
  /** Whether the node is a button that opens the vertex's subtasks. */
  clickable: boolean;
}
type VertexNode = Node<VertexData, 'vertex'>;

interface ExchangeData extends Record<string, unknown> {
  partitioning: string;
  sideOutput: string | null | undefined;
  recordsPerSecond: number | undefined;
  /** Opens the edge's tap (its label is then a button). */
  onTap: ((edgeId: string) => void) | undefined;
  tapped: boolean;
}
type ExchangeEdge = Edge<ExchangeData, 'exchange'>;

/** What the drawing needs of a JobGraph (a planned one, or a job's vertices and edges). */
export interface GraphShape {
  vertices: readonly {
    id: string;
    operators: readonly { name: string }[];
    parallelism: number;
    isSource: boolean;
  }[];
  edges: readonly {
    id: string;
    source: string;
    target: string;
    partitioning: string;
    sideOutput?: string | null | undefined;
  }[];
}

/** Props of {@link JobGraphView}. */
export interface JobGraphViewProps {
  graph: GraphShape;
  /** Live figures per vertex id; absent for a plan that has not run. */
  vertexMetrics?: Readonly<Record<string, VertexMetrics>> | undefined;
  /** State per vertex id (aggregated over its subtasks). */
  vertexStatus?: Readonly<Record<string, string>> | undefined;
  /** Records per second per edge id. */
  edgeRates?: Readonly<Record<string, number>> | undefined;
  selectedVertexId?: string | null | undefined;
  /** Called when a vertex is activated (click, Enter or Space); enables the node buttons. */
  onSelectVertex?: ((vertexId: string) => void) | undefined;
  /** Called when an edge's label is activated: the dashboard taps the edge (a running job only). */
  onTapEdge?: ((edgeId: string) => void) | undefined;
  /** The edge whose tap is open. */
  tappedEdgeId?: string | null | undefined;
  /** Accessible name of the drawing. */
  label: string;
}

/**
 * The JobGraph drawn left to right: one node per JobVertex (its chained
 * operators, parallelism, state and live figures, tinted from idle to busy to
 * backpressured) and one edge per exchange, labelled with its partitioning and
 * records per second.
 */
export function JobGraphView({
  graph,
  vertexMetrics,
  vertexStatus,
  edgeRates,
  selectedVertexId,
  onSelectVertex,
  onTapEdge,
  tappedEdgeId,
  label,
}: JobGraphViewProps) {
  const theme = useTheme();
  // Positions depend on the structure only, so live updates never move nodes.
  const positions = useMemo(
    () =>
      layeredLayout(
        { nodes: graph.vertices, edges: graph.edges },
        { nodeWidth: NODE_WIDTH, nodeHeight: NODE_HEIGHT, layerGap: 170, nodeGap: 40 },
      ),
    [graph.vertices, graph.edges],
  );

  const nodes = useMemo<VertexNode[]>(
    () =>
      graph.vertices.map((v) => ({
        id: v.id,
        type: 'vertex',
        position: positions.get(v.id) ?? { x: 0, y: 0 },
        width: NODE_WIDTH,
        draggable: false,
        connectable: false,
        selectable: false,
        data: {
          vertexId: v.id,
          operators: v.operators.map((o) => o.name),
          parallelism: v.parallelism,
          isSource: v.isSource,
          status: vertexStatus?.[v.id],
          metrics: vertexMetrics?.[v.id],
          selected: selectedVertexId === v.id,
          clickable: onSelectVertex !== undefined,
        },
      })),
    [graph.vertices, positions, vertexStatus, vertexMetrics, selectedVertexId, onSelectVertex],
  );

  const edges = useMemo<ExchangeEdge[]>(
    () =>
      graph.edges.map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        type: 'exchange',
        markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
        focusable: false,
        selectable: false,
        data: {
          partitioning: e.partitioning,
          sideOutput: e.sideOutput,
          recordsPerSecond: edgeRates?.[e.id],
          onTap: onTapEdge,
          tapped: tappedEdgeId === e.id,
        },
      })),
    [graph.edges, edgeRates, onTapEdge, tappedEdgeId],
  );

  return (
    <div
      className="graph"
      role="group"
      aria-label={label}
      data-testid="job-graph"
      style={{ height: graphHeight(positions) }}
    >
      <ReactFlow<VertexNode, ExchangeEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        edgeTypes={EDGE_TYPES}
        colorMode={theme ?? 'system'}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
        minZoom={0.25}
        maxZoom={1.5}
        nodesDraggable={false}
        nodesConnectable={false}
        nodesFocusable={false}
        edgesFocusable={false}
        elementsSelectable={false}
        // The node's button has no handler of its own: its click (mouse, Enter
        // or Space) bubbles to the node, and React Flow only lets pointer
        // events reach nodes that have a click handler.
        onNodeClick={
          onSelectVertex
            ? (_event, node) => {
                onSelectVertex(node.id);
              }
            : undefined
        }
        zoomOnScroll={false}
        preventScrolling={false}
        proOptions={{ hideAttribution: false }}
      >
        <Background gap={20} size={1} />
        <Controls showInteractive={false} position="bottom-right" />
      </ReactFlow>
    </div>
  );
}

function graphHeight(positions: Map<string, { y: number }>): number {
  let bottom = 0;
  for (const p of positions.values()) bottom = Math.max(bottom, p.y + NODE_HEIGHT);
  return Math.min(620, Math.max(280, bottom * 0.9 + 80));
}

function VertexNodeView({ data }: NodeProps<VertexNode>) {
  const { metrics, status } = data;
  const color = metrics ? loadColor(metrics.busyRatio, metrics.backpressureRatio) : 'var(--border)';
  const content = (
    <>
      <span className="vertex-head">
        <span className="vertex-name" title={data.operators.join(' → ')}>
          {data.operators[0]}
        </span>
        {status ? (
          <span className="badge badge-sm" data-tone={statusTone(status)} data-testid="vertex-status">
            {status}
          </span>
        ) : null}
      </span>
      {data.operators.length > 1 ? (
        <span className="vertex-chain">
          {data.operators.slice(1, 1 + CHAIN_SHOWN).map((name, i) => (
            <span key={i} title={name}>
              → {name}
            </span>
          ))}
          {data.operators.length > 1 + CHAIN_SHOWN ? (
            <span title={data.operators.slice(1 + CHAIN_SHOWN).join(' → ')}>
              → … {plural(data.operators.length - 1 - CHAIN_SHOWN, 'more operator')}
            </span>
          ) : null}
        </span>
      ) : null}
      <span className="vertex-meta">
        {plural(data.parallelism, 'subtask')}
        {data.isSource ? ' · source' : ''}
      </span>
      {metrics ? (
        <span className="vertex-metrics">
          {data.isSource ? (
            // A source has no input: what it counts as read is what it emitted, once per record.
            <span title="Records the source emitted, counted once however many exchanges they cross">
              emits <strong data-testid="vertex-source-rate">{formatRate(metrics.recordsInPerSec)}</strong>/s
            </span>
          ) : (
            <span>
              in <strong>{formatRate(metrics.recordsInPerSec)}</strong>/s
            </span>
          )}
          <span title="Records sent over the vertex's outgoing exchanges (once per exchange)">
            out <strong>{formatRate(metrics.recordsOutPerSec)}</strong>/s
          </span>
          <span>
            busy <strong>{formatPercent(metrics.busyRatio)}</strong>
          </span>
          <span>
            backpr. <strong>{formatPercent(metrics.backpressureRatio)}</strong>
          </span>
          <span data-testid="vertex-records">
            records <strong data-testid="vertex-records-out">{formatCount(recordsOf(metrics))}</strong>
          </span>
          <span>
            wm <strong>{formatWatermark(metrics.inputWatermark)}</strong>
          </span>
        </span>
      ) : null}
    </>
  );
  return (
    <div
      className="vertex"
      data-testid="vertex-node"
      data-vertex-id={data.vertexId}
      data-selected={data.selected || undefined}
      style={{ borderLeftColor: color }}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      {data.clickable ? (
        <button
          type="button"
          className="vertex-body vertex-button nodrag"
          aria-pressed={data.selected}
          aria-label={`${data.operators.join(' → ')}: show its subtasks`}
        >
          {content}
        </button>
      ) : (
        <div className="vertex-body">{content}</div>
      )}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

/** Records the vertex handled so far: what it emitted, or what it read for a sink. */
function recordsOf(m: VertexMetrics): number {
  return m.recordsOut > 0 ? m.recordsOut : m.recordsIn;
}

function ExchangeEdgeView({
  id,
  sourceX,
  sourceY,
  targetX,
  targetY,
  sourcePosition,
  targetPosition,
  markerEnd,
  data,
}: EdgeProps<ExchangeEdge>) {
  const [path, labelX, labelY] = getBezierPath({
    sourceX,
    sourceY,
    targetX,
    targetY,
    sourcePosition,
    targetPosition,
  });
  const rate = data?.recordsPerSecond;
  const label = (
    <>
      <strong>{data?.partitioning}</strong>
      {data?.sideOutput ? <span> · {data.sideOutput}</span> : null}
      {rate !== undefined ? <span> · {formatRate(rate)}/s</span> : null}
    </>
  );
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} className="exchange-path" />
      <EdgeLabelRenderer>
        {data?.onTap ? (
          <button
            type="button"
            className="edge-label edge-tap-button nodrag nopan"
            data-testid="edge-label"
            data-edge-id={id}
            data-tapped={data.tapped || undefined}
            aria-pressed={data.tapped}
            title="Show a live sample of the records crossing this edge"
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            onClick={() => {
              data.onTap?.(id);
            }}
          >
            {label}
          </button>
        ) : (
          <div
            className="edge-label nodrag nopan"
            data-testid="edge-label"
            data-edge-id={id}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          >
            {label}
          </div>
        )}
      </EdgeLabelRenderer>
    </>
  );
}

const NODE_TYPES = { vertex: VertexNodeView };
const EDGE_TYPES = { exchange: ExchangeEdgeView };
