import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { fileTypeFromFile } from 'file-type';
import sharp from 'sharp';
import { type ScanResult, scanFile } from './clamav.js';
import {
  ALLOWED_EXTENSIONS,
  ALLOWED_KINDS,
  extensionOf,
  type FileKind,
  looksLikeMarkup,
} from './file-types.js';

/** Why a file was refused: a code a program can switch on and a sentence a person can act on. */
export type Refusal = {
  status: 'rejected' | 'infected';
  code:
    | 'empty_file'
    | 'file_type_not_allowed'
    | 'file_type_mismatch'
    | 'active_content'
    | 'unreadable_image'
    | 'infected';
  reason: string;
};

export type Inspection =
  | {
      ok: true;
      kind: FileKind;
      /** The media type found from the magic bytes (file-type), or `text/plain`. */
      detectedType: string;
      scan: ScanResult;
      /** The re-encoded image, to store instead of the upload (images only). */
      reencodedPath?: string;
    }
  | ({ ok: false; detectedType: string | null; scan: ScanResult | null } & Refusal);

/** Pixels an image may have (a decompression bomb is refused as unreadable). */
const MAX_PIXELS = 50_000_000;

/**
 * The checks a quarantined upload passes before it may be stored, in order: not empty; its true
 * type from its magic bytes (file-type) on the allowlist (`ALLOWED_KINDS`) and the one its
 * extension names (a plain-text file: valid UTF-8, no NUL, not markup); the ClamAV scan when
 * clamd is configured (a file whose scan fails is not passed: `ScannerUnavailableError`); an image
 * re-encoded by sharp (libvips), which keeps its pixels only: EXIF, comments, text chunks, ICC
 * profiles and bytes appended after the image (polyglots) are gone.
 * @param filePath the upload in quarantine; `name` the name it was sent with
 */
export async function inspectFile(
  filePath: string,
  name: string,
  size: number,
  clamavUrl: string | undefined,
): Promise<Inspection> {
  const refuse = (
    r: Refusal,
    detectedType: string | null = null,
    scan: ScanResult | null = null,
  ): Inspection => ({
    ok: false,
    detectedType,
    scan,
    ...r,
  });
  if (size === 0) return refuse({ status: 'rejected', code: 'empty_file', reason: 'The file is empty' });
  const extension = extensionOf(name);
  const claimed = ALLOWED_KINDS.find((k) => k.extensions.includes(extension));
  if (!claimed)
    return refuse({
      status: 'rejected',
      code: 'file_type_not_allowed',
      reason: `Files of type .${extension || '(none)'} are not accepted (accepted: ${ALLOWED_EXTENSIONS.join(', ')})`,
    });
  const found = await fileTypeFromFile(filePath);
  const detectedType = found?.mime ?? ((await isPlainText(filePath)) ? 'text/plain' : null);
  const detected = found ? found.ext : detectedType === 'text/plain' ? 'text' : undefined;
  if (detected === 'text' && claimed.detected === 'text' && (await startsWithMarkup(filePath)))
    return refuse(
      { status: 'rejected', code: 'active_content', reason: 'The file holds HTML, XML or SVG markup' },
      detectedType,
    );
  if (detected !== claimed.detected) {
    const isAllowed = ALLOWED_KINDS.some((k) => k.detected === detected);
    return refuse(
      {
        status: 'rejected',
        code: isAllowed ? 'file_type_mismatch' : 'file_type_not_allowed',
        reason: detected
          ? `The file's content is ${detected === 'text' ? 'text' : `a .${detected} file`}, not what its name (.${extension}) says`
          : `The file's content is not a .${extension} file (nor any type accepted)`,
      },
      detectedType,
    );
  }
  const scan = await scanFile(clamavUrl, filePath);
  if (scan.status === 'infected')
    return refuse(
      { status: 'infected', code: 'infected', reason: `The virus scan found ${scan.signature}` },
      detectedType,
      scan,
    );
  if (!claimed.image) return { ok: true, kind: claimed, detectedType: detectedType!, scan };
  const reencodedPath = `${filePath}.clean`;
  try {
    await reencodeImage(filePath, reencodedPath, claimed.image);
  } catch (error) {
    await rm(reencodedPath, { force: true });
    return refuse(
      {
        status: 'rejected',
        code: 'unreadable_image',
        reason: `The image cannot be read: ${(error as Error).message.split('\n')[0]}`,
      },
      detectedType,
      scan,
    );
  }
  return { ok: true, kind: claimed, detectedType: detectedType!, scan, reencodedPath };
}

/**
 * Decodes the image and writes its pixels anew in the same format (sharp drops every piece of
 * metadata unless told to keep it). The orientation EXIF gave is applied to the pixels first, so
 * a photo keeps its way up. Animated GIF and WebP keep their frames.
 */
async function reencodeImage(input: string, output: string, format: NonNullable<FileKind['image']>) {
  const animated = format === 'gif' || format === 'webp';
  let image = sharp(input, { limitInputPixels: MAX_PIXELS, failOn: 'error', animated });
  if (!animated) image = image.rotate();
  const encoded =
    format === 'jpeg'
      ? image.jpeg({ quality: 90 })
      : format === 'png'
        ? image.png()
        : format === 'gif'
          ? image.gif()
          : image.webp({ quality: 90 });
  await encoded.toFile(output);
}

/** Valid UTF-8 from end to end, with no NUL: text (read as a stream, whatever the size). */
async function isPlainText(filePath: string): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(filePath, { highWaterMark: 256 * 1024 })) {
      if ((chunk as Buffer).includes(0)) return false;
      decoder.decode(chunk as Buffer, { stream: true });
    }
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

async function startsWithMarkup(filePath: string): Promise<boolean> {
  const handle = await open(filePath, 'r');
  try {
    const buffer = Buffer.alloc(1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return looksLikeMarkup(buffer.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await handle.close();
  }
}
