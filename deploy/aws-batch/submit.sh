#!/usr/bin/env bash
# Registers the two job definitions and submits the sharded score (an array job of 64 children:
# AWS_BATCH_JOB_ARRAY_INDEX = 0…63 is the shard) and the merge, which waits for all 64.
# Needs the AWS CLI, a job queue named $QUEUE and the image pushed to ECR.
set -euo pipefail
cd "$(dirname "$0")"
QUEUE=${QUEUE:-winnow}
SHARDS=64 # = N in --shard auto/N in score-job-definition.json
aws batch register-job-definition --cli-input-json file://score-job-definition.json >/dev/null
aws batch register-job-definition --cli-input-json file://merge-job-definition.json >/dev/null
score=$(aws batch submit-job --job-name winnow-score --job-queue "$QUEUE" --job-definition winnow-score \
  --array-properties size=$SHARDS --query jobId --output text)
merge=$(aws batch submit-job --job-name winnow-merge --job-queue "$QUEUE" --job-definition winnow-merge \
  --depends-on jobId="$score" --query jobId --output text)
echo "score: $score (array of $SHARDS), merge: $merge (after it)"
