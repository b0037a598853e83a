-- AlterEnum: partitionCustom's edges
ALTER TYPE "partitioning" ADD VALUE 'CUSTOM';
