import { router } from '../trpc.js';
import { controlPlane } from './control-plane.js';

/**
 * `executions.*`: what TaskManagers report about their subtasks
 * (session-authenticated; declared in `@freshet/protocol/control-plane`):
 * `reportStates`, `reportMetrics`, `reportCollected`, `reportLostPeer`,
 * `declineCheckpoint`.
 */
export const executionsRouter = router(controlPlane.executions);
