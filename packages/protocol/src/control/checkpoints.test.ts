import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_UPLOAD_HEADERS,
  formatUploadPieces,
  MAX_UPLOAD_PIECES,
  uploadPiecesOf,
} from './checkpoints.js';

describe('uploadPiecesOf', () => {
  const h = CHECKPOINT_UPLOAD_HEADERS.pieces;
  it('reads the checkpoint ids an incremental snapshot refers to; none for a full one', () => {
    expect(uploadPiecesOf({})).toEqual([]);
    expect(uploadPiecesOf({ [h]: '' })).toEqual([]);
    expect(uploadPiecesOf({ [h]: '3,5, 12' })).toEqual([3, 5, 12]);
    expect(uploadPiecesOf({ [h]: ['3', '5'] })).toEqual([3, 5]);
  });

  it('refuses malformed ids rather than taking the snapshot as a full one', () => {
    expect(uploadPiecesOf({ [h]: '3,x' })).toBeUndefined();
    expect(uploadPiecesOf({ [h]: '0' })).toBeUndefined();
    expect(uploadPiecesOf({ [h]: '2.5' })).toBeUndefined();
    expect(uploadPiecesOf({ [h]: '9-3' })).toBeUndefined();
    expect(uploadPiecesOf({ [h]: '0-3' })).toBeUndefined();
    expect(uploadPiecesOf({ [h]: '3-' })).toBeUndefined();
    expect(uploadPiecesOf({ [h]: '3-x' })).toBeUndefined();
    expect(uploadPiecesOf({ [h]: '3--5' })).toBeUndefined();
  });

  it('writes runs of ids as ranges and reads them back', () => {
    const ids = [3, 4, 5, 6, 9, 12, 13, 20];
    expect(formatUploadPieces(ids)).toBe('3-6,9,12-13,20');
    expect(uploadPiecesOf({ [h]: formatUploadPieces(ids) })).toEqual(ids);
    expect(formatUploadPieces([])).toBe('');
    // A chain per key group over 4096 key groups, mostly the latest checkpoints: a short header.
    const many = Array.from({ length: 900 }, (_, i) => 100 + i);
    const text = formatUploadPieces([1, 7, 40, ...many]);
    expect(text).toBe('1,7,40,100-999');
    expect(uploadPiecesOf({ [h]: text })).toEqual([1, 7, 40, ...many]);
  });

  it('refuses a range that would expand past the bound (a hostile header)', () => {
    expect(uploadPiecesOf({ [h]: '1-1000000000' })).toBeUndefined();
    expect(uploadPiecesOf({ [h]: `1-${MAX_UPLOAD_PIECES}` })).toHaveLength(MAX_UPLOAD_PIECES);
    expect(uploadPiecesOf({ [h]: `1-${MAX_UPLOAD_PIECES},${MAX_UPLOAD_PIECES + 2}` })).toBeUndefined();
  });
});
