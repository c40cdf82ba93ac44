// The small customers + events mapping the tests and the bench run on, built from the one copy of
// it: the starter project's model (engine/src/starter.ts, what `tally init` writes). The tests' copy
// is the starter's without its comment and descriptions; options change only what a test needs
// (which attributes, no pii, the property types, no properties, no Events), so every variant keeps
// the starter's key order and spelling.

import { STARTER_MODEL } from '../../engine/src/starter.js';

export interface ModelOptions {
  /**
   * The customer's `attributes:` in order, name -> a type (`string`) or a whole flow map
   * (`{ column: created_at, type: timestamp }`); `{}` writes no `attributes:` key. Default: the
   * starter's `signed_up_at` (created_at as a timestamp) and `country`.
   */
  attributes?: Record<string, string>;
  /** `pii: [email]` on the customer (default true). */
  pii?: boolean;
  /**
   * The events' `property_types` map's contents (default the starter's `amount: number`); null: the
   * stream has no `properties` column at all.
   */
  propertyTypes?: string | null;
  /** The `events` stream (default true); false: the Entity alone. */
  events?: boolean;
}

/** definitions/model.yaml for a test: a `customer` Entity over `customers` and an `events` stream. */
export function model(options: ModelOptions = {}): string {
  const { attributes, pii = true, propertyTypes = 'amount: number', events = true } = options;
  const out: string[] = [];
  let inAttributes = false;
  for (const line of STARTER_MODEL.split('\n')) {
    if (line.startsWith('#') || line.startsWith('description:')) continue;
    if (inAttributes && line.startsWith('  ')) continue;
    inAttributes = false;
    if (line === 'attributes:') {
      inAttributes = attributes !== undefined;
      if (!inAttributes) out.push(line);
      else if (Object.keys(attributes!).length > 0) {
        out.push(line, ...Object.entries(attributes!).map(([name, spec]) => `  ${name}: ${spec.startsWith('{') ? spec : `{ type: ${spec} }`}`));
      }
    } else if (line === '---' && !events) break;
    else if (line.startsWith('pii:') && !pii) continue;
    else if (line.startsWith('properties:') && propertyTypes === null) continue;
    else if (line.startsWith('property_types:')) {
      if (propertyTypes !== null) out.push(`property_types: { ${propertyTypes} }`);
    } else out.push(line);
  }
  return out.join('\n').replace(/\n*$/, '\n');
}

/** The tests' default mapping: the starter's model without its comment and descriptions. */
export const MODEL = model();

/** The starter's `signed_up_at` attribute (the customer's created_at, typed as a timestamp). */
export const SIGNED_UP_AT = '{ column: created_at, type: timestamp }';
