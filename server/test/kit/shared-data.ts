import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared real input files, `../shared/data/` beside the repository (never copied into it). */
export const SHARED_DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));

/** The path of a shared data file: `sharedPath('security/blns/blns.base64.json')`. */
export const sharedPath = (relative: string) => `${SHARED_DATA}${relative}`;

/** The bytes of a shared data file. */
export const readShared = (relative: string) => readFileSync(sharedPath(relative));
