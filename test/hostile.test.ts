// Hostile input (issue 10): alias bombs, control characters in file names and in text that ends up
// in SQL comments. Bad input gets a precise diagnostic or a clean error; nothing reaches SQL.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Project } from '../engine/src/project.js';
import { sqlComment } from '../engine/src/sql/comment.js';
import { OPERATOR_SYNONYM_KEYS } from '../engine/src/suggest.js';
import { COMMON_SCHEMA } from '../engine/src/syntax/schemas.js';
import { parseInstant } from '../engine/src/time.js';
import { runTally, STACK } from './helpers/cli.js';
import { createTestDb, postgresReachable, type Backend } from './helpers/databases.js';
import { model, SIGNED_UP_AT } from './helpers/model.js';

const TMP = mkdtempSync(join(tmpdir(), 'tally-hostile-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const TALLY_YAML = 'tally: 1\nname: hostile\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n';
const MODEL = model({ attributes: { country: 'string', signed_up_at: SIGNED_UP_AT }, pii: false, events: false });

let counter = 0;
function makeProject(files: Record<string, string>): string {
  const dir = join(TMP, `p${++counter}`);
  mkdirSync(join(dir, 'definitions'), { recursive: true });
  writeFileSync(join(dir, 'tally.yaml'), TALLY_YAML);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

// Issue 10.6: ten anchors, each listing the previous one ten times.
const BOMB = ['kind: Segment', 'name: bomb', 'version: 1', 'description: &a0 [x, x, x, x, x, x, x, x, x, x]']
  .concat(Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`))
  .concat(['where: { attribute: country, in: *a9 }', ''])
  .join('\n');

describe('hostile input: YAML alias bombs', () => {
  it('validate reports alias-limit at the alias and finishes in well under a second of work', async () => {
    const dir = makeProject({ 'definitions/model.yaml': MODEL, 'definitions/bomb.yaml': BOMB });
    const started = process.cpuUsage();
    const r = await runTally(['validate', '--project', dir, '--format', 'json'], { cwd: dir });
    const cpu = process.cpuUsage(started);
    assert.equal(r.code, 1, r.err);
    const report = JSON.parse(r.out) as { diagnostics: { file: string; code: string; range: { start: { line: number; character: number }; end: { line: number; character: number } } }[] };
    const line = BOMB.split('\n')[6]!; // a3
    const eighth = line.split('*a2', 8).join('*a2').length;
    assert.deepEqual(
      report.diagnostics.map((d) => [d.file, d.code, d.range]),
      [['definitions/bomb.yaml', 'alias-limit', { start: { line: 6, character: eighth }, end: { line: 6, character: eighth + 3 } }]],
    );
    assert.ok((cpu.user + cpu.system) / 1000 < 2000, `validate took ${(cpu.user + cpu.system) / 1000} ms of CPU`);
  });
});

describe('hostile input: control characters in file names and SQL comments', () => {
  it('sqlComment keeps everything on one comment line, visibly', () => {
    assert.equal(sqlComment('x\nDROP TABLE customers; --'), '-- x\\u000aDROP TABLE customers; --');
    assert.equal(sqlComment('a\rb\u2028c\u0000d\u001be\u0085f\u202eg'), '-- a\\u000db\\u2028c\\u0000d\\u001be\\u0085f\\u202eg');
    assert.equal(sqlComment('plain text: 30 days, ümlaut, 日本'), '-- plain text: 30 days, ümlaut, 日本');
  });

  const evil = 'definitions/x\nDROP TABLE customers; --.yaml';
  const segment = 'kind: Segment\nname: dach\nversion: 1\nwhere: { attribute: country, in: [DE, AT, CH] }\n';

  it('a definition file name with a line break: bad-file-name on the file, compile writes nothing', async () => {
    const dir = makeProject({ 'definitions/model.yaml': MODEL, [evil]: segment });
    const v = await runTally(['validate', '--project', dir, '--format', 'json'], { cwd: dir });
    assert.equal(v.code, 1);
    const diags = (JSON.parse(v.out) as { diagnostics: { file: string; code: string; message: string; range: unknown }[] }).diagnostics;
    assert.deepEqual(
      diags.map((d) => [d.file, d.code, d.range]),
      [[evil, 'bad-file-name', { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }]],
    );
    assert.match(diags[0]!.message, /'definitions\/x\\u000aDROP TABLE customers; --\.yaml' contains a control character/);
    const out = join(dir, 'out');
    const c = await runTally(['compile', '--project', dir, '--out', out], { cwd: dir });
    assert.equal(c.code, 1);
    assert.ok(!existsSync(out), 'nothing written');
    assert.doesNotMatch(c.err, STACK);
    // Tabs, escape and other controls too; an ordinary unicode name is fine.
    const p = new Project(dir, TALLY_YAML);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/tab\there.yaml', segment.replace('dach', 'tabbed'));
    p.setFile('definitions/esc\u001b[31m.yaml', segment.replace('dach', 'coloured'));
    p.setFile('definitions/größe.yaml', segment.replace('dach', 'gross'));
    assert.deepEqual(
      p.analyze().diagnostics.map((d) => [d.file, d.code]),
      [
        ['definitions/esc\u001b[31m.yaml', 'bad-file-name'],
        ['definitions/tab\there.yaml', 'bad-file-name'],
      ],
    );
  });

  for (const backend of ['pglite', 'postgres'] as Backend[]) {
    it(`a compiled file's comments stay comments when run (${backend}): descriptions with line breaks and controls`, async function () {
      if (backend === 'postgres' && !(await postgresReachable())) this.skip();
      const described = segment.replace('version: 1\n', 'version: 1\ndescription: "DACH\\nDROP TABLE customers; --\\r\\u2028DROP TABLE customers;\\u0000\\u001b"\n');
      const dir = makeProject({ 'definitions/model.yaml': MODEL, 'definitions/seg.yaml': described });
      const out = join(dir, 'out');
      const c = await runTally(['compile', '--project', dir, '--out', out], { cwd: dir });
      assert.equal(c.code, 0, c.err);
      const sql = readFileSync(join(out, 'segment', 'dach.sql'), 'utf8');
      const lines = sql.split(/\r\n|\r|\n|\u2028|\u2029/);
      const header = lines.slice(0, 4);
      assert.ok(header.every((l) => l.startsWith('-- ')), header.join('\n'));
      assert.equal(header[1], '-- DACH DROP TABLE customers; -- DROP TABLE customers;\\u0000\\u001b');
      assert.ok(lines.slice(4).every((l) => !/DROP/i.test(l)));
      // Run the whole file (psql -f would): the table is still there afterwards.
      const t = await createTestDb(backend);
      try {
        await t.db.exec('create table customers (id int primary key, created_at timestamptz, country text); insert into customers values (1, now(), $$DE$$), (2, now(), $$FR$$)');
        await t.db.exec(sql);
        const r = await t.db.query<{ n: number }>('select count(*)::int as n from customers');
        assert.equal(r.rows[0]!.n, 2);
      } finally {
        await t.drop();
      }
    });
  }
});

describe('hostile input: years 0001–0099, offsets, operator and enum spellings (issue 10.10)', () => {
  it('years 0001–0099 are those years, not 1901–1999 (bare dates, date-times, zones, leap days)', () => {
    assert.equal(parseInstant('0001-01-01')!.date.toISOString(), '0001-01-01T00:00:00.000Z');
    assert.equal(parseInstant('0099-12-31T23:59:59Z')!.date.toISOString(), '0099-12-31T23:59:59.000Z');
    assert.equal(parseInstant('0004-02-29')!.date.toISOString(), '0004-02-29T00:00:00.000Z', 'year 4 is a leap year');
    assert.equal(parseInstant('0050-06-01T12:00:00+02:00')!.date.toISOString(), '0050-06-01T10:00:00.000Z');
    assert.equal(parseInstant('0050-06-01T12:00:00', 'America/New_York')!.date.getUTCFullYear(), 50);
    assert.equal(parseInstant('0000-01-01'), undefined);
    assert.equal(parseInstant('1900-02-29'), undefined, '1900 is not a leap year');
  });

  it('offsets: ±14:00 at most, minutes below 60', () => {
    assert.equal(parseInstant('2026-01-01T00:00:00+14:00')!.date.toISOString(), '2025-12-31T10:00:00.000Z');
    assert.equal(parseInstant('2026-01-01T00:00:00-1400')!.date.toISOString(), '2026-01-01T14:00:00.000Z');
    for (const bad of ['+14:01', '-14:30', '+15:00', '+99:00', '+05:60', '-2359']) assert.equal(parseInstant(`2026-01-01T00:00:00${bad}`), undefined, bad);
  });

  for (const backend of ['pglite', 'postgres'] as Backend[]) {
    it(`--as-of 0020-01-01 and a 0050 boundary select the year-10 customer only (${backend})`, async function () {
      if (backend === 'postgres' && !(await postgresReachable())) this.skip();
      const seg = 'kind: Segment\nname: ancient\nversion: 1\nwhere: { attribute: signed_up_at, before: 0050-01-01 }\n';
      const dir = makeProject({ 'definitions/model.yaml': MODEL, 'definitions/seg.yaml': seg });
      const out = join(dir, 'out');
      const c = await runTally(['compile', '--project', dir, '--out', out, '--as-of', '0020-01-01'], { cwd: dir });
      assert.equal(c.code, 0, c.err);
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { as_of: string };
      assert.equal(manifest.as_of, '0020-01-01T00:00:00.000Z');
      const sql = readFileSync(join(out, 'segment', 'ancient.sql'), 'utf8');
      const t = await createTestDb(backend);
      try {
        await t.db.exec(`create table customers (id int primary key, created_at timestamptz, country text);
          insert into customers values (1, '0010-06-01T00:00:00Z', 'DE'), (2, '1910-06-01T00:00:00Z', 'DE'), (3, '0030-06-01T00:00:00Z', 'DE')`);
        // 1 exists at T and signed up before 0050; 3 does not exist yet at T (0020); 2 is 1910 (the old 1900 shift would count it).
        const r = await t.db.query<{ key: number }>(sql.replace(/;\s*$/, ''));
        assert.deepEqual(r.rows.map((x) => Number(x.key)), [1]);
      } finally {
        await t.drop();
      }
    });
  }

  it('an unknown operator key: one diagnostic, at the key, with the operator to use', () => {
    const p = new Project(TMP, TALLY_YAML);
    p.setFile('definitions/model.yaml', MODEL);
    const seg = 'kind: Segment\nname: pro\nversion: 1\nwhere: { attribute: country, equals: pro }\n';
    p.setFile('definitions/seg.yaml', seg);
    const diags = p.analyze().diagnostics;
    const at = seg.indexOf('equals');
    assert.deepEqual(
      diags.map((d) => ({ code: d.code, range: d.range, message: d.message, fix: d.fix?.text })),
      [{ code: 'unknown-key', range: { start: { line: 3, character: at - seg.indexOf('where') }, end: { line: 3, character: at - seg.indexOf('where') + 6 } }, message: "unknown key 'equals' in `where` (did you mean 'eq'?)", fix: 'eq' }],
    );
    // No synonym is a key a condition or a property filter accepts (it would never be reported).
    const defs = COMMON_SCHEMA.$defs as Record<string, { properties: object }>;
    const keys = new Set([...Object.keys(defs.condition!.properties), ...Object.keys(defs.propertyFilter!.properties)]);
    assert.deepEqual(OPERATOR_SYNONYM_KEYS.filter((k) => keys.has(k)), []);
  });

  it('an enum value gets a did-you-mean in the message and as a fix', () => {
    const p = new Project(TMP, TALLY_YAML);
    p.setFile('definitions/model.yaml', MODEL);
    const kpi = 'kind: Kpi\nname: k\nversion: 1\nowner: x\ndescription: y\nfunnel: retension\nmetric: { count: { entity: customer } }\ntarget: { gte: 1, by: 2027-01-01 }\nguardrail: { gte: 0 }\n';
    p.setFile('definitions/kpi.yaml', kpi);
    const d = p.analyze({ now: new Date('2026-06-01T00:00:00Z') }).diagnostics.find((x) => x.code === 'bad-value');
    assert.ok(d);
    assert.match(d.message, /^'retension' is not allowed for `funnel` \(did you mean 'retention'\?\)/);
    assert.equal(d.fix?.text, 'retention');
    assert.deepEqual(d.range, { start: { line: 5, character: 8 }, end: { line: 5, character: 17 } });
  });
});
