// YAML parsing throughput: the `yaml` package path vs the fast subset parser, on 1,000 generated
// definition documents like the ones in examples/ (flow maps, nested block sequences, comments,
// quoted strings, dates, the odd folded description).
//
//   node --import tsx bench/yaml-parse.ts [--rounds 15]
//
// Each path parses the 1,000 documents as 1,000 separate files (the editor/validate case) and as
// one 1,000-document file; the median of the timed rounds (after warm-up) is reported.

import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { parseFastYaml } from '../engine/src/syntax/fast-yaml.js';
import { parseYamlDocuments, parseYamlWithPackage } from '../engine/src/syntax/load-yaml.js';

const DOCS = 1000;
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Math.max(3, Number(process.argv[roundsArg + 1]) || 15) : 15;
const WARMUP = 5;

// ---- a deterministic generator of definition documents ------------------------------------------

let seed = 20270331;
function rand(): number {
  let t = (seed = (seed + 0x6d2b79f5) >>> 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;

const EVENTS = ['purchase', 'login', 'signup', 'view_item', 'add_to_cart', 'support_ticket', 'survey'];
const COUNTRIES = ['DE', 'AT', 'CH', 'FR', 'NL', 'IT', 'ES', 'PL'];
const TEAMS = ['lifecycle-team', 'growth-team', 'data-platform', 'acquisition-team'];
const date = () => `202${6 + int(2)}-${String(1 + int(12)).padStart(2, '0')}-${String(1 + int(28)).padStart(2, '0')}`;

function segment(i: number): string {
  const conds = [
    `    - { attribute: country, in: [${Array.from({ length: 1 + int(4) }, () => pick(COUNTRIES)).filter((c, j, a) => a.indexOf(c) === j).join(', ')}] }`,
    `    - { event: ${pick(EVENTS)}, within: ${7 * (1 + int(13))}d, gte: ${1 + int(5)} }`,
    `    - { event: purchase, sum: amount, gte: ${50 * (1 + int(10))} }`,
    `    - not: { event: ${pick(EVENTS)}, within: ${7 + int(30)}d }`,
    `    - stage: customer_lifecycle.${pick(['new', 'active', 'dormant', 'churned'])}`,
  ];
  const n = 2 + int(4);
  const where = conds.slice(0, n).join('\n');
  const description =
    rand() < 0.2
      ? `description: >-\n  Customers matching ${n} conditions, refreshed daily;\n  used by campaign ${i % 17}.`
      : `description: "Customers who bought a lot but went quiet (#${i})"   # trailing comment`;
  return `kind: Segment
name: segment_${i}
version: ${1 + int(5)}
${description}
entity: customer
owner: ${pick(TEAMS)}
where:
  ${pick(['all', 'any'])}:
${where}
`;
}

function kpi(i: number): string {
  return `# KPI ${i}
kind: Kpi
name: kpi_${i}
version: ${1 + int(3)}
owner: ${pick(TEAMS)}
metric:
  retention: { cohort: { event: signup, within: ${30 * (1 + int(4))}d }, return: { stream: events }, days: ${pick([7, 14, 30, 90])} }
target:
  gte: 0.${10 + int(80)}
  by: ${date()}
  baseline: { value: 0.${10 + int(80)}, on: ${date()} }
guardrail: { gte: 0.${10 + int(20)} }
tags: [${pick(['retention', 'activation', 'revenue'])}, 'core']
`;
}

function campaign(i: number): string {
  return `kind: Campaign
name: campaign_${i}
version: 1
description: Win back valuable customers who went quiet, with a discount test against a holdout.
owner: ${pick(TEAMS)}
tags: [${pick(['winback', 'conversion', 'onboarding'])}]
audience: { segment: segment_${int(DOCS)}, exclude: [internal_test_accounts] }
channel: ${pick(['email', 'push', 'sms'])}
schedule: { start: ${date()}, end: ${date()} }
frequency_cap: { max: ${1 + int(3)}, per: ${1 + int(7)}d }
variants:
  - { name: control, weight: 10, holdout: true }
  - { name: ten_off, weight: 45 }
  - { name: 'twenty_off', weight: 45 }
goal: { event: purchase, within: ${1 + int(14)}d }
`;
}

const docs: string[] = [];
for (let i = 0; i < DOCS; i++) docs.push(i % 5 === 4 ? campaign(i) : i % 2 === 0 ? segment(i) : kpi(i));
const oneFile = docs.join('---\n');
const bytes = docs.reduce((n, d) => n + d.length, 0);

// ---- sanity: the fast path handles all of them and agrees with the yaml path -----------------------

let bailed = 0;
for (const d of docs) {
  const fast = parseFastYaml(d);
  if (fast === null) bailed++;
  else if (!isDeepStrictEqual(fast, parseYamlWithPackage(d))) throw new Error(`fast and yaml paths disagree on:\n${d}`);
}
if (!isDeepStrictEqual(parseFastYaml(oneFile), parseYamlWithPackage(oneFile))) throw new Error('paths disagree on the combined file');

// ---- timing ---------------------------------------------------------------------------------

type Parse = (text: string) => unknown;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Median ms per round for each path; rounds interleave the paths so load spikes hit all alike. */
function time(parses: Parse[], files: string[]): number[] {
  let sink = 0;
  const samples: number[][] = parses.map(() => []);
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    parses.forEach((parse, i) => {
      const t0 = performance.now();
      for (const f of files) if (parse(f) !== null) sink++;
      const ms = performance.now() - t0;
      if (r >= WARMUP) samples[i]!.push(ms);
    });
  }
  if (sink < 0) console.log(sink); // keep the work observable
  return samples.map(median);
}

const paths: [string, Parse][] = [
  ['yaml package: parseAllDocuments only', (t) => parseAllDocuments(t, { keepSourceTokens: false, uniqueKeys: true, prettyErrors: false })],
  ['yaml path: parseYamlWithPackage', parseYamlWithPackage],
  ['fast path: parseFastYaml', parseFastYaml],
  ['parseYamlDocuments (fast, else yaml)', parseYamlDocuments],
];

console.log(`${DOCS} definition documents, ${(bytes / 1024).toFixed(0)} KiB, fast path bailed on ${bailed}; median of ${ROUNDS} rounds after ${WARMUP} warm-up\n`);
const perFile = time(paths.map(([, p]) => p), docs);
const combined = time(paths.map(([, p]) => p), [oneFile]);
const results: Record<string, { files: number; combined: number }> = {};
paths.forEach(([name], i) => {
  results[name] = { files: (DOCS / perFile[i]!) * 1000, combined: (DOCS / combined[i]!) * 1000 };
});
const pad = Math.max(...paths.map(([n]) => n.length));
console.log(`${'path'.padEnd(pad)}  ${'docs/s (1,000 files)'.padStart(22)}  ${'docs/s (one file)'.padStart(19)}`);
for (const [name] of paths) {
  const r = results[name]!;
  console.log(`${name.padEnd(pad)}  ${Math.round(r.files).toLocaleString('en-US').padStart(22)}  ${Math.round(r.combined).toLocaleString('en-US').padStart(19)}`);
}
const slow = results['yaml path: parseYamlWithPackage']!;
const fast = results['fast path: parseFastYaml']!;
console.log(`\nspeed-up of the fast path over the yaml path: ${(fast.files / slow.files).toFixed(1)}x (files), ${(fast.combined / slow.combined).toFixed(1)}x (one file)`);
