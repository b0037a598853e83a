export { buildProgram } from './program.js';
export { CliError, printJson, formatTable } from './output.js';
