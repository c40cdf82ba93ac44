// The JSON Schemas of schemas/, bundled into the engine: the single source of truth for the shape
// of every kind, for validation here and for hover docs and key completion in the editor.

import common from '../../../schemas/common.schema.json';
import entity from '../../../schemas/entity.schema.json';
import events from '../../../schemas/events.schema.json';
import segment from '../../../schemas/segment.schema.json';
import trait from '../../../schemas/trait.schema.json';
import score from '../../../schemas/score.schema.json';
import lifecycle from '../../../schemas/lifecycle.schema.json';
import kpi from '../../../schemas/kpi.schema.json';
import campaign from '../../../schemas/campaign.schema.json';
import cohort from '../../../schemas/cohort.schema.json';
import testKind from '../../../schemas/test.schema.json';
import funnel from '../../../schemas/funnel.schema.json';
import costs from '../../../schemas/costs.schema.json';
import destination from '../../../schemas/destination.schema.json';
import syncKind from '../../../schemas/sync.schema.json';
import project from '../../../schemas/project.schema.json';
import type { Kind } from '../model/types.js';

export type JsonSchema = Record<string, unknown>;

export const COMMON_SCHEMA: JsonSchema = common;
export const PROJECT_SCHEMA: JsonSchema = project;
export const SCHEMAS: Record<Kind, JsonSchema> = {
  Entity: entity,
  Events: events,
  Segment: segment,
  Trait: trait,
  Score: score,
  Lifecycle: lifecycle,
  Kpi: kpi,
  Campaign: campaign,
  Test: testKind,
  Cohort: cohort,
  Funnel: funnel,
  Costs: costs,
  Destination: destination,
  Sync: syncKind,
};
