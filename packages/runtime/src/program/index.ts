export { loadProgram, loadStreamGraph, PlanMismatchError, ProgramLoadError } from './load.js';
export type { ProgramSpec, PlanOverrides, ProgramMain } from './load.js';
export { computePlanHash, canonicalJson } from './hash.js';
export {
  FRESHET_API_GLOBAL_KEY,
  FRESHET_CONNECTORS_GLOBAL_KEY,
  API_SHIM_SOURCE,
  CONNECTORS_SHIM_SOURCE,
  installApiGlobal,
} from './api-global.js';
