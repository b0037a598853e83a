-- CreateEnum
CREATE TYPE "savepoint_kind" AS ENUM ('SAVEPOINT', 'STOP', 'DRAIN', 'RESCALE');

-- AlterTable
ALTER TABLE "checkpoints" ADD COLUMN     "savepoint_kind" "savepoint_kind",
ADD COLUMN     "savepoint_path" TEXT;
