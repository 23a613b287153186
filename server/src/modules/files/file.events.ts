import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  RecordName,
  registerEvents,
} from '../../platform/events/event-catalogue.js';

/** `{name, size}`: a file's name as uploaded and its size in bytes. */
const FileData = z.object({ name: RecordName, size: z.number().optional() });
const Refused = FileData.extend({ code: z.string(), reason: z.string() });

/**
 * The files pipeline's events (subject `{object: 'file'}`, on the timeline of the record the file
 * is attached to): each state a file passes through is one event.
 */
export const fileEvents = registerEvents({
  'file.uploaded': defineEvent({
    summary:
      'A file was received for a record (`size` in bytes); it is checked before anyone can download it',
    data: FileData,
    describe: ({ actor, what }) => `${actor} uploaded ${what}`,
  }),
  'file.quarantined': defineEvent({
    summary: 'An uploaded file is held in quarantine while its type is checked and it is scanned',
    data: FileData,
    describe: ({ what }) => `Cairn held ${what} in quarantine for checking`,
  }),
  'file.rejected': defineEvent({
    summary: 'An uploaded file failed a check (`code`, `reason`) and was removed',
    data: Refused,
    describe: ({ what, data }) => `Cairn rejected ${what}: ${data.reason}`,
  }),
  'file.infected': defineEvent({
    summary: 'The virus scan found malware in an uploaded file (`reason` names it); the file was removed',
    data: Refused,
    describe: ({ what, data }) => `Cairn removed ${what}: ${data.reason}`,
  }),
  'file.stored': defineEvent({
    summary: 'An uploaded file passed every check and can be downloaded (`scan`: clean or not_configured)',
    data: FileData.extend({ scan: z.string().optional() }),
    describe: ({ what }) => `Cairn checked ${what} and made it available`,
  }),
  'file.deleted': defineEvent({
    summary: 'A file was deleted for good',
    data: FileData,
    describe: ({ actor, what }) => `${actor} deleted ${what}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof fileEvents> {}
}
