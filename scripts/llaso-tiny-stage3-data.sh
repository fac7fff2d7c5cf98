#!/usr/bin/env bash
# The data of configs/train/llaso-tiny-stage3.yaml, in order; each step is skipped when its
# output exists (and the corpus build and teacher answers resume), so a killed run reruns as is.
set -euo pipefail
cd "$(dirname "$0")/.."
LLASO=${LLASO:-.venv/bin/llaso}
M=data/llaso-mini
D=$M/derived
mkdir -p "$D"
# The whole corpus (resumable). To start training before it ends, stop it and join what is done
# (every file but ASR's is complete at about 85 %; the config reads the first N of each file):
#   $LLASO data build-mini --out $M --scale medium --join-partial && SKIP_BUILD=1 bash $0
[ -f $M/manifest.json ] || [ -n "${SKIP_BUILD:-}" ] || $LLASO data build-mini --out $M --scale medium --seed 0
# More distinct clips for the voice questions (llaso-mini's transcription clips, relabelled).
[ -f $D/SGC_ta_train.json ] || $LLASO data relabel $M/train/ASR_ta_train.json --task SGC --limit 3000 --seed 3 --out $D/SGC_ta_train.json
[ -f $D/AC_ta_train.json ] || $LLASO data relabel $M/train/{PR,AQA,SCR,IP,EE,SRC,SSC}_*_train.json $M/train/ASR_ta_train.json \
    --task AC --limit 4000 --seed 1 --out $D/AC_ta_train.json
[ -f $D/IC_ta_train.json ] || $LLASO data relabel $M/train/{PP,ISC,VC}_ta_train.json --task IC --limit 2400 --seed 2 --out $D/IC_ta_train.json
# Two turns about one clip: a voice question and what was said, in either order.
[ -f $D/MT_ta_train.json ] || $LLASO data two-turn $M/train/SGC_ta_train.json $M/train/AC_ta_train.json --out $D/MT_ta_train.json
# Open questions about what was said; the base LLM answers their text version (teacher targets).
[ -f $D/OPEN_open.json ] || $LLASO data open-prompts $M/train/ASR_ta_train.json $M/train/IP_ta_train.json \
    $M/train/AQA_a_train.json $M/train/SGC_ta_train.json $M/train/AC_ta_train.json --limit 1200 --seed 4 --out $D/OPEN_open.json
[ -f $D/OPEN_ta_train.json ] || $LLASO train --make-teacher $D/OPEN_open.json --out $D/OPEN_ta_train.json --teacher-limit 480
# Silence, hum and noise, with the honest reply.
[ -f $D/NOSPEECH_ta_train.json ] || $LLASO data no-speech --out $D/NOSPEECH_ta_train.json --count 400 --seed 5
# The base LLM's own answers to text prompts (so text stays itself).
[ -f $D/TXT_t_train.json ] || $LLASO train --make-replay $D/TXT_t_train.json --replay-n 320
mkdir -p runs/llaso-tiny/stage2i-shipped
[ -f runs/llaso-tiny/stage2i-shipped/projector.safetensors ] || cp -r src/llaso/checkpoints/weights/llaso-tiny/. runs/llaso-tiny/stage2i-shipped/
echo "stage 3 data ready"
