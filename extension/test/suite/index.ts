// Entry point VS Code calls inside the extension host (bundled to out-test/suite.cjs).
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: true });
  mocha.suite.emit('pre-require', globalThis, 'tally-suite', mocha);
  // Bundled by esbuild: the require runs after the globals (describe, it) exist.
  require('./extension.test');
  return new Promise((resolve, reject) => mocha.run((failures) => (failures ? reject(new Error(`${failures} test(s) failed`)) : resolve())));
}
