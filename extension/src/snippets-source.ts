// Build-time only (build.mjs): the engine's snippets, the single source of the editor's snippets.
export { SNIPPETS } from '../../engine/src/index.js';
