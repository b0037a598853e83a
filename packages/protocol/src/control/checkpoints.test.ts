import { describe, expect, it } from 'vitest';
import { CHECKPOINT_UPLOAD_HEADERS, uploadPiecesOf } from './checkpoints.js';

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
  });
});
