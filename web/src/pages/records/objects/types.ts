import type { ComponentType, ReactNode } from 'react';
import type { Field, Member, ObjectDescription } from '../../../api/client';
import type { RecordData } from '../../../lib/fields';
import type { RecordObject } from '../../../lib/records';

/** What every plug-in panel of a record page is given. */
export type PanelProps = {
  object: RecordObject;
  id: string;
  record: RecordData;
  description: ObjectDescription;
  members: Member[];
  canEdit: boolean;
  /** PATCHes part of the record; the answer replaces the cached record. */
  save: (body: Record<string, unknown>) => Promise<unknown>;
  /** Refreshes the record and what shows it (lists, board). */
  refresh: () => void;
};

/** One input of the create form: the value typed so far and how to change it. */
export type CreateInputProps = {
  field: Field;
  value: unknown;
  onChange: (value: unknown) => void;
  members: Member[];
  error: string | undefined;
  autoFocus: boolean;
};

/**
 * What one object adds to the generic record page and create form. Everything else (the
 * heading, each registry field with inline editing, archive and restore, related records, tasks,
 * notes, timeline, the create form's inputs) comes from the registry, so a field added there
 * shows up with no web change.
 */
export type ObjectPlugin = {
  /** Beside the heading: badges, links. */
  Header?: ComponentType<PanelProps>;
  /** Header actions before archive/restore (an opportunity's stage, close and reopen). */
  Actions?: ComponentType<PanelProps>;
  /**
   * Registry fields this object shows its own way in the details: a component in place of the
   * generic row, or null when another part of the page shows the value.
   */
  fields?: Record<string, ComponentType<PanelProps> | null>;
  /** Sections under the details (a company's people, an opportunity's stage history). */
  panels?: ComponentType<PanelProps>[];
  /** What a row of this object shows among another record's related records. */
  summary?: (record: RecordData) => ReactNode;
  create?: {
    /**
     * Inputs in place of the generic one for a field (also for a computed one such as a contact's
     * companies), or null to leave the field out of the form.
     */
    inputs?: Record<string, ComponentType<CreateInputProps> | null>;
    /** The body's shape where it differs from one key per field (e-mail to `emails`). */
    toBody?: (values: Record<string, unknown>) => Record<string, unknown>;
    /** Where the server names the error of a field's input (`emails[0].value`). */
    errorPath?: Record<string, string>;
  };
};
